/**
 * `npm run demo`: the agent's main job on an embedded default. Starts the project's test master on loopback and
 * a real agent process against the local Docker Engine (scripts/with-dockerd.sh provides one: DOCKER_HOST, the
 * default socket, or a private engine when run as root), starts a labelled sample container, enrols the agent
 * so that a start_tunnel arrives, and prints what the master receives until Ctrl-C (or DEMO_SECONDS), then
 * cleans up everything it started. With DEMO_DECOMMISSION=1 the admin then removes the agent: the demo prints each
 * decommission acknowledgement and ends when the agent has stopped itself. With DEMO_SWARM=1 the engine becomes a
 * single-node swarm for the demo: the sample is a labelled service and the tunnel a Swarm service (demo-swarm.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { dockerFromHost } from '../docker/dockerode-call.js';
import { call, TestMaster, type RecordedRequest } from '../spec/master/index.js';
import { startSwarmDemo, type SwarmDemo } from './demo-swarm.js';

const started = Date.now();
const BUSYBOX = process.env.DOCKERTEST_BUSYBOX_IMAGE ?? 'local/busybox:1';
const CLOUDFLARED = process.env.DOCKERTEST_CLOUDFLARED_IMAGE ?? 'local/cloudflared:stand-in';
const NETWORK = 'dockflare-demo-net';
const SAMPLE = 'dockflare-demo-web';

const stamp = (): string => `[${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s]`;
const say = (text: string): void => {
  process.stdout.write(`${stamp()} ${text}\n`);
};

function docker(): Docker {
  return dockerFromHost(process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock');
}

/** Any JSON value as short text. */
const text = (v: unknown, fallback = '-'): string =>
  v === undefined || v === null ? fallback : typeof v === 'string' ? v : JSON.stringify(v);

function describe(r: RecordedRequest): string | null {
  const body = (r.body ?? {}) as Record<string, unknown>;
  const reply = (r.response ?? {}) as Record<string, unknown>;
  const status = r.status === 0 ? 'dropped' : String(r.status);
  switch (r.endpoint) {
    case 'register':
      return `master ← register        ${String(body.display_name)} → agent ${text(reply.agent_id, '?')}, protocol v${text(reply.protocol_version, '1')} (${status})`;
    case 'commands': {
      const commands = (reply.commands as { action?: string }[] | undefined) ?? [];
      return commands.length === 0
        ? null
        : `master → commands        ${commands.map((c) => String(c.action)).join(', ')} (${status})`;
    }
    case 'events': {
      const type = String(body.type);
      if (type === 'heartbeat') return `master ← heartbeat       #${text(body.event_sequence)} (${status})`;
      if (type === 'status_report') {
        const list = (body.containers ??
          (body.container as { containers?: unknown[] } | undefined)?.containers ??
          []) as unknown[];
        return `master ← status_report   ${list.length} container(s), ${body.inventory_complete === false ? 'INCOMPLETE' : 'complete'} (${status})`;
      }
      if (type === 'tunnel_status')
        return `master ← tunnel_status   ${String(body.status)} ${String(body.name)}  ${text(body.version, '')} (${status})`;
      const c = (body.container ?? {}) as Record<string, unknown> & { labels?: Record<string, string> };
      const labels = Object.entries(c.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const what =
        c.mode === 'swarm' ? ` [service, ${text(c.replicas_running)}/${text(c.replicas_desired)} tasks running]` : '';
      return `master ← ${type.padEnd(15)} ${text(c.name)}${what}  ${labels} (${status})`;
    }
    case 'ack':
      return `master ← decommission ack ${String(body.phase)}, tunnel ${text(body.tunnel_container, 'n/a')} → ${text(reply.code)} (${status})`;
    case 'admin':
    case 'other':
      return null;
  }
}

async function startSample(d: Docker): Promise<void> {
  await d
    .getContainer(SAMPLE)
    .remove({ force: true })
    .catch(() => undefined);
  const sample = await d.createContainer({
    name: SAMPLE,
    Image: BUSYBOX,
    Cmd: ['httpd', '-f', '-p', '80', '-h', '/etc'],
    Labels: {
      'dockflare.enable': 'true',
      'dockflare.hostname': 'demo.example.com',
      'dockflare.service': `http://${SAMPLE}:80`,
      'dockflare-test': 'demo',
    },
    HostConfig: { Init: true, NetworkMode: 'none' },
  });
  await sample.start();
  say(`started the labelled sample container ${SAMPLE} (dockflare.hostname=demo.example.com)`);
}

async function main(): Promise<void> {
  const d = docker();
  await d.ping().catch(() => {
    throw new Error(
      'no Docker Engine reachable: run through `npm run demo` (scripts/with-dockerd.sh) or set DOCKER_HOST',
    );
  });
  const master = await TestMaster.start({ mode: 'v2' });
  const key = master.generateKey();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dockflare-demo-'));
  const healthPort = 18080 + Math.floor(Math.random() * 1000);
  say(`test master listening on ${master.url} (protocol v2); agent data in ${dataDir}`);

  const swarmMode = process.env.DEMO_SWARM === '1';
  let swarm: SwarmDemo | null = null;
  if (swarmMode) swarm = await startSwarmDemo(d, { network: NETWORK, image: BUSYBOX, say });
  else await startSample(d);

  const agent = spawn(process.execPath, ['--import', 'tsx', path.resolve('cli/main.ts')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      DOCKFLARE_MASTER_URL: master.url,
      DOCKFLARE_API_KEY: key,
      AGENT_DATA_DIR: dataDir,
      DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
      CLOUDFLARED_IMAGE: CLOUDFLARED,
      CLOUDFLARED_NETWORK_NAME: NETWORK,
      AGENT_DISPLAY_NAME: 'demo-host',
      DOCKER_MODE: swarmMode ? 'swarm' : 'standalone',
      REPORT_INTERVAL_SECONDS: '5',
      COMMAND_POLL_INTERVAL_SECONDS: '2',
      HEALTH_CHECK_PORT: String(healthPort),
      HEALTH_BIND_ADDRESS: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logFile = path.join(dataDir, 'agent.log');
  const { createWriteStream } = await import('node:fs');
  const logStream = createWriteStream(logFile);
  agent.stdout.pipe(logStream);
  say(
    `agent started (pid ${String(agent.pid)}); its JSON log goes to ${logFile}; health on http://127.0.0.1:${healthPort}/health`,
  );

  let shown = 0;
  let enrolled = false;
  let agentId: string | null = null;
  const decommission = process.env.DEMO_DECOMMISSION === '1';
  let removing = false;
  const remove = async (id: string): Promise<void> => {
    const res = await call(master.url, 'POST', `/api/v2/agents/${id}/decommission`, { key: 'test-master-admin-key' });
    say(
      `admin removes the agent → decommission ${text((res.json as { operation_id?: string }).operation_id)} (${res.status})`,
    );
  };
  const pump = setInterval(() => {
    for (const r of master.requests.slice(shown)) {
      shown++;
      const line = describe(r);
      if (line) say(line);
      if (!enrolled && r.endpoint === 'register' && r.status >= 200 && r.status < 300) {
        enrolled = true;
        const id = String((r.response as { agent_id?: string }).agent_id);
        agentId = id;
        master.enroll(id, 'demo-tunnel');
        say(`admin enrols the agent with tunnel demo-tunnel → the master queues start_tunnel`);
      }
      const running = r.endpoint === 'events' && (r.body as { type?: string } | undefined)?.type === 'tunnel_status';
      if (decommission && !removing && running && agentId !== null && r.status < 300) {
        removing = true;
        void remove(agentId);
      }
    }
  }, 100);

  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say(`${why}: ${agent.exitCode === null ? 'stopping the agent (SIGTERM) and ' : ''}cleaning up`);
    const code =
      agent.exitCode ??
      (await new Promise<number | null>((resolve) => {
        agent.once('exit', resolve);
        agent.kill('SIGTERM');
      }));
    clearInterval(pump);
    for (const r of master.requests.slice(shown)) {
      const line = describe(r);
      if (line) say(line);
    }
    say(
      `agent exited with code ${String(code)}; ${
        swarmMode
          ? `tunnel service ${await d
              .getService('dockflare-agent-tunnel')
              .inspect()
              .then(
                () => 'still present',
                () => 'removed',
              )}`
          : `tunnel container ${await d
              .getContainer('dockflare-agent-tunnel')
              .inspect()
              .then(
                (c) => `still present (${c.State.Running ? 'running' : 'stopped'})`,
                () => 'removed',
              )}`
      }`,
    );
    await d
      .getContainer('dockflare-agent-tunnel')
      .remove({ force: true })
      .catch(() => undefined);
    await d
      .getContainer(SAMPLE)
      .remove({ force: true })
      .catch(() => undefined);
    await swarm?.cleanup();
    await d
      .getNetwork(NETWORK)
      .remove()
      .catch(() => undefined);
    await master.stop();
    logStream.end();
    await rm(dataDir, { recursive: true, force: true });
    say('done');
  };
  // After a decommission the agent ends by itself (it has no container of its own to stop here).
  agent.once('exit', () => {
    if (decommission) void stop('the agent finished its decommission and exited');
  });
  process.once('SIGINT', () => {
    void stop('Ctrl-C');
  });
  process.once('SIGTERM', () => {
    void stop('SIGTERM');
  });
  const seconds = Number(process.env.DEMO_SECONDS ?? '0');
  say(seconds > 0 ? `running for ${seconds} s` : 'running until Ctrl-C');
  if (seconds > 0)
    setTimeout(() => {
      void stop(`${seconds} s elapsed`);
    }, seconds * 1000).unref();
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
