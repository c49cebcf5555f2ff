/**
 * SwarmPort over dockerode. Docker's answers are decoded (a field Docker leaves out is a default, not a crash), errors
 * become DockerErrors as for containers, and a service or network that is gone is null rather than an exception.
 */
import type Docker from 'dockerode';
import * as v from 'valibot';
import { type Schema, decodeWith, jsonInteger, jsonObject, jsonRecord } from '../domain/decoded.js';
import { CALL_TIMEOUT_MS, DockerodeCalls, demux } from './dockerode-call.js';
import { DockerError } from './port.js';
import type { NetworkState, ServiceState, SwarmPort, SwarmRole, TaskState, TunnelServiceSpec } from './swarm-port.js';

const Labels = v.nullish(jsonRecord(v.string()));
const Strings = v.nullish(v.array(v.string()));

const ServiceJson = jsonObject({
  ID: v.string(),
  Version: jsonObject({ Index: jsonInteger }),
  Spec: jsonObject({
    Name: v.string(),
    Labels,
    TaskTemplate: v.optional(
      jsonObject({
        ContainerSpec: v.optional(jsonObject({ Image: v.optional(v.string()), Env: Strings, Args: Strings })),
        Networks: v.nullish(v.array(jsonObject({ Target: v.string() }))),
        RestartPolicy: v.nullish(jsonObject({ Condition: v.optional(v.string()) })),
        ForceUpdate: v.optional(jsonInteger),
      }),
    ),
    Mode: v.optional(
      jsonObject({
        Replicated: v.optional(jsonObject({ Replicas: v.optional(jsonInteger) })),
        Global: v.optional(jsonObject({})),
      }),
    ),
  }),
});

const TaskJson = jsonObject({
  ID: v.string(),
  ServiceID: v.string(),
  NodeID: v.optional(v.string()),
  DesiredState: v.optional(v.string()),
  Spec: v.optional(
    jsonObject({
      ContainerSpec: v.optional(jsonObject({ Image: v.optional(v.string()), Env: Strings })),
      ForceUpdate: v.optional(jsonInteger),
    }),
  ),
  Status: v.optional(
    jsonObject({
      State: v.optional(v.string()),
      Timestamp: v.optional(v.string()),
      Err: v.optional(v.string()),
      ContainerStatus: v.optional(jsonObject({ ContainerID: v.optional(v.string()) })),
    }),
  ),
});

const NetworkJson = jsonObject({
  Id: v.string(),
  Name: v.string(),
  Driver: v.optional(v.string()),
  Scope: v.optional(v.string()),
  Attachable: v.optional(v.boolean()),
});

const InfoJson = jsonObject({
  Swarm: v.optional(
    jsonObject({
      LocalNodeState: v.optional(v.string()),
      ControlAvailable: v.optional(v.boolean()),
      NodeID: v.optional(v.string()),
      Nodes: v.optional(jsonInteger),
    }),
  ),
});

function decode<T>(operation: string, schema: Schema<T>, raw: unknown): T {
  const parsed = decodeWith(schema, raw);
  if (!parsed.ok) throw new DockerError('failed', operation, null, `unexpected answer: ${parsed.reason}`);
  return parsed.value;
}

function serviceState(s: v.InferOutput<typeof ServiceJson>): ServiceState {
  const tpl = s.Spec.TaskTemplate;
  const mode = s.Spec.Mode;
  return {
    id: s.ID,
    name: s.Spec.Name,
    version: s.Version.Index,
    labels: s.Spec.Labels ?? {},
    image: tpl?.ContainerSpec?.Image ?? '',
    env: tpl?.ContainerSpec?.Env ?? [],
    args: tpl?.ContainerSpec?.Args ?? [],
    replicas: mode?.Global !== undefined ? null : (mode?.Replicated?.Replicas ?? 1),
    networkIds: (tpl?.Networks ?? []).map((n) => n.Target),
    restartCondition: tpl?.RestartPolicy?.Condition ?? null,
    forceUpdate: tpl?.ForceUpdate ?? 0,
  };
}

function taskState(t: v.InferOutput<typeof TaskJson>): TaskState {
  return {
    id: t.ID,
    serviceId: t.ServiceID,
    nodeId: t.NodeID ?? null,
    state: t.Status?.State ?? 'unknown',
    desiredState: t.DesiredState ?? 'unknown',
    containerId: t.Status?.ContainerStatus?.ContainerID ?? null,
    since: t.Status?.Timestamp ?? '',
    image: t.Spec?.ContainerSpec?.Image ?? '',
    env: t.Spec?.ContainerSpec?.Env ?? [],
    error: t.Status?.Err ?? null,
    forceUpdate: t.Spec?.ForceUpdate ?? 0,
  };
}

/** The whole service spec Docker is given: the agent owns this service, so nothing else of it is kept. */
function serviceSpec(spec: TunnelServiceSpec): Record<string, unknown> {
  return {
    Name: spec.name,
    Labels: { ...spec.labels },
    TaskTemplate: {
      ContainerSpec: { Image: spec.image, Args: [...spec.args], Env: [...spec.env], StopGracePeriod: 10_000_000_000 },
      Networks: spec.networkId === '' ? [] : [{ Target: spec.networkId }],
      RestartPolicy: { Condition: 'any', Delay: 2_000_000_000 },
      ...(spec.forceUpdate === undefined ? {} : { ForceUpdate: spec.forceUpdate }),
    },
    Mode: { Replicated: { Replicas: spec.replicas } },
    // A new token or image: each new connector starts before an old one stops, so the tunnel never dips.
    UpdateConfig: { Parallelism: 1, Order: 'start-first' },
  };
}

export class DockerodeSwarmPort extends DockerodeCalls implements SwarmPort {
  constructor(docker: Docker, callTimeoutMs = CALL_TIMEOUT_MS) {
    super(docker, callTimeoutMs);
  }

  async swarmRole(signal?: AbortSignal): Promise<SwarmRole> {
    const raw: unknown = await this.call('info', () => this.docker.info(), signal);
    const swarm = decode('info', InfoJson, raw).Swarm;
    const manager = swarm?.ControlAvailable === true;
    return {
      localNodeState: swarm?.LocalNodeState ?? 'inactive',
      manager,
      nodeId: swarm?.NodeID ? swarm.NodeID : null,
      nodes: manager ? (swarm?.Nodes ?? null) : null,
    };
  }

  async listServices(signal?: AbortSignal): Promise<ServiceState[]> {
    const raw: unknown = await this.call(
      'list services',
      (abortSignal) => this.docker.listServices({ abortSignal }),
      signal,
    );
    return decode('list services', v.array(ServiceJson), raw).map(serviceState);
  }

  async inspectService(idOrName: string, signal?: AbortSignal): Promise<ServiceState | null> {
    const raw: unknown = await this.orAbsent(
      'inspect service',
      // dockerode's service inspect takes no abort signal: only the owner's wait is cut short.
      () => this.docker.getService(idOrName).inspect(),
      signal,
    );
    return raw === null ? null : serviceState(decode('inspect service', ServiceJson, raw));
  }

  async listActiveTasks(serviceId: string | null, signal?: AbortSignal): Promise<TaskState[]> {
    const filters = { 'desired-state': ['running'], ...(serviceId === null ? {} : { service: [serviceId] }) };
    const raw: unknown = await this.call(
      'list tasks',
      (abortSignal) => this.docker.listTasks({ filters, abortSignal }),
      signal,
    );
    return decode('list tasks', v.array(TaskJson), raw).map(taskState);
  }

  async inspectNetwork(idOrName: string): Promise<NetworkState | null> {
    const raw: unknown = await this.orAbsent('inspect network', () => this.docker.getNetwork(idOrName).inspect());
    if (raw === null) return null;
    const n = decode('inspect network', NetworkJson, raw);
    return { id: n.Id, name: n.Name, driver: n.Driver ?? '', scope: n.Scope ?? '', attachable: n.Attachable === true };
  }

  async createOverlayNetwork(name: string): Promise<void> {
    try {
      await this.call('create network', (abortSignal) =>
        this.docker.createNetwork({
          Name: name,
          Driver: 'overlay',
          Attachable: true,
          CheckDuplicate: true,
          abortSignal,
        }),
      );
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'conflict') return;
      throw err;
    }
  }

  async createService(spec: TunnelServiceSpec): Promise<string> {
    const created = await this.call('create service', (abortSignal) =>
      this.docker.createService({ ...serviceSpec(spec), abortSignal } as unknown as Docker.CreateServiceOptions),
    );
    return created.id;
  }

  async updateService(id: string, version: number, spec: TunnelServiceSpec): Promise<void> {
    await this.call('update service', (abortSignal) =>
      this.docker.getService(id).update({ _query: { version }, _body: serviceSpec(spec), abortSignal }),
    );
  }

  async removeService(id: string): Promise<boolean> {
    try {
      await this.call('remove service', (abortSignal) => this.docker.getService(id).remove({ abortSignal }));
      return true;
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'not_found') return false;
      throw err;
    }
  }

  async scaleService(id: string, replicas: number): Promise<void> {
    const raw = (await this.call('inspect service', () => this.docker.getService(id).inspect())) as {
      Version?: { Index?: number };
      Spec?: Record<string, unknown>;
    };
    if (raw.Version?.Index === undefined || raw.Spec === undefined)
      throw new DockerError('failed', 'inspect service', null, 'unexpected answer: no version or spec');
    const spec = { ...raw.Spec, Mode: { Replicated: { Replicas: replicas } } };
    await this.call('update service', (abortSignal) =>
      this.docker.getService(id).update({ _query: { version: raw.Version?.Index }, _body: spec, abortSignal }),
    );
  }

  async serviceLogTail(id: string, lines: number): Promise<string[]> {
    const raw: unknown = await this.call('service logs', (abortSignal) =>
      this.docker.getService(id).logs({ stdout: true, stderr: true, tail: lines, follow: false, abortSignal }),
    );
    const text = Buffer.isBuffer(raw) ? demux(raw) : String(raw);
    return text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .slice(-lines);
  }
}
