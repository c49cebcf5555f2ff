/**
 * Loads and validates the configuration once, at start-up. A bad value becomes a ConfigError naming the
 * environment variable and the reason, never the value itself (values may be secrets or hold URL credentials).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import convict from 'convict';
import { registerFormats } from './formats.js';
import { schema } from './schema.js';
import { CHILD_NAMES, type ChildName } from './schema-runtime.js';
import { unbracketed } from '../../domain/address.js';
import type { LogLevelName } from '../../log/logger.js';

export interface BackoffSettings {
  minMs: number;
  maxMs: number;
  randomFactor: number;
  resetAfterMs: number;
}

export interface AgentConfig {
  master: {
    url: string;
    apiKey: string;
    /** Where the key was read from (DOCKFLARE_API_KEY_FILE): read again when the master refuses the key. */
    apiKeyFile: string | undefined;
    requestTimeoutMs: number;
    caFile: string | undefined;
  };
  access: { clientId: string; clientSecret: string } | undefined;
  agent: { displayName: string | undefined; dataDir: string; decommissionTombstonePath: string };
  tunnel: {
    image: string;
    networkName: string;
    createNetwork: boolean;
    removeOnShutdown: boolean;
    checkIntervalMs: number;
    startConfirmMs: number;
    /** Swarm mode: tasks of the tunnel service. */
    replicas: number;
  };
  docker: { host: string; mode: 'auto' | 'standalone' | 'swarm' };
  intervals: { reportMs: number; heartbeatMs: number; commandPollMs: number; registerRetryMs: number };
  heartbeat: { includeHealth: boolean };
  health: { port: number; bindAddress: string; masterContactMs: number };
  log: { level: LogLevelName; healthIntervalMs: number };
  chaos: {
    enabled: boolean;
    meanIntervalMs: number;
    deviation: number;
    targets: string[];
    seed: number | null;
    polite: boolean;
  };
  supervision: {
    root: { intensity: number; periodMs: number };
    workers: { intensity: number; periodMs: number };
    handlerTimeoutMs: number;
    stashCapacity: number;
    shutdownBudgetMs: number;
    backoff: Record<ChildName, BackoffSettings>;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable}: ${reason}`);
  }
}

/** Maps a convict key path (`master.url`) to its environment variable. */
function envOf(key: string): string {
  let node: unknown = schema;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  const env = (node as { env?: unknown } | undefined)?.env;
  return typeof env === 'string' ? env : key;
}

/** Turns convict's multi-line validation report into the first error, named by its variable, with no value. */
function firstError(err: unknown): ConfigError {
  const text = err instanceof Error ? err.message : String(err);
  const first = text.split('\n')[0] ?? text;
  const match = /^([\w.-]+): (.*?)(?:: value was .*)?$/.exec(first);
  if (!match?.[1] || match[2] === undefined) return new ConfigError('configuration', 'invalid');
  return new ConfigError(envOf(match[1]), match[2].trim());
}

/**
 * A variable set to nothing (`LOG_LEVEL=` in an .env file, common in compose set-ups) means its default, as it did
 * for the original agent; only variables without a default (the master URL and key) are then missing.
 */
function withoutBlankOverrides(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const withDefault = new Set<string>();
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const leaf = node as { env?: unknown; default?: unknown };
    if (typeof leaf.env === 'string' && 'default' in leaf) {
      if (leaf.default !== '') withDefault.add(leaf.env);
      return;
    }
    for (const child of Object.values(node)) walk(child);
  };
  walk(schema);
  return Object.fromEntries(
    Object.entries(env).filter(([name, value]) => !(withDefault.has(name) && value?.trim() === '')),
  );
}

/** The secrets that may come from a file (Docker and Swarm secrets): `NAME_FILE` holds the path. */
const SECRET_FILE_VARIABLES = ['DOCKFLARE_API_KEY', 'CF_ACCESS_CLIENT_SECRET'] as const;

function secretFileOf(env: NodeJS.ProcessEnv, name: (typeof SECRET_FILE_VARIABLES)[number]): string | undefined {
  const file = env[`${name}_FILE`]?.trim();
  return file === undefined || file === '' ? undefined : file;
}

/**
 * Reads a secret file: its content trimmed, or why not (never the content). `absent`: the file is empty or not
 * there, as it briefly is while being written in place or saved by rename.
 */
export function readSecretFile(
  file: string,
): { ok: true; value: string } | { ok: false; reason: string; absent: boolean } {
  try {
    const value = readFileSync(file, 'utf8').trim();
    return value === '' ? { ok: false, reason: 'names an empty file', absent: true } : { ok: true, value };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: `cannot be read (${code ?? 'error'})`, absent: code === 'ENOENT' };
  }
}

/** The environment with each NAME_FILE's content as NAME; both set, or an unreadable file, is a ConfigError. */
function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of SECRET_FILE_VARIABLES) {
    const file = secretFileOf(env, name);
    if (file === undefined) continue;
    if ((env[name]?.trim() ?? '') !== '') throw new ConfigError(`${name}_FILE`, `cannot be set together with ${name}`);
    const read = readSecretFile(file);
    if (!read.ok) throw new ConfigError(`${name}_FILE`, read.reason);
    out[name] = read.value;
  }
  return out;
}

/** Printable ASCII without spaces (keys are URL-safe base64, Access ids and secrets hex), or nothing. */
const HEADER_SAFE = /^[\x21-\x7e]*$/;

/** True when `value` can go into a request header as it is. */
export function isHeaderSafe(value: string): boolean {
  return HEADER_SAFE.test(value);
}

export function loadConfig(env: NodeJS.ProcessEnv): AgentConfig {
  registerFormats();
  const withSecrets = withSecretFiles(env);
  let conf: convict.Config<Record<string, unknown>>;
  try {
    conf = convict(schema as unknown as convict.Schema<Record<string, unknown>>, {
      env: withoutBlankOverrides(withSecrets),
      args: [],
    });
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    throw firstError(err);
  }
  const get = (key: string): unknown => (conf.get as (k: string) => unknown)(key);
  const str = (key: string): string => String(get(key));
  const num = (key: string): number => Number(get(key));
  const bool = (key: string): boolean => get(key) === true;

  const accessId = str('access.clientId').trim();
  const accessSecret = str('access.clientSecret').trim();
  // Each of these goes into a request header: a character HTTP forbids there would fail every request, with the
  // value quoted in the HTTP library's error. Refused here, by name only.
  for (const [name, value] of [
    ['DOCKFLARE_API_KEY', str('master.apiKey').trim()],
    ['CF_ACCESS_CLIENT_ID', accessId],
    ['CF_ACCESS_CLIENT_SECRET', accessSecret],
  ] as const) {
    if (!isHeaderSafe(value)) throw new ConfigError(name, 'must be printable ASCII without spaces');
  }
  if ((accessId === '') !== (accessSecret === '')) {
    throw new ConfigError(
      accessId === '' ? 'CF_ACCESS_CLIENT_ID' : 'CF_ACCESS_CLIENT_SECRET',
      'is required when the other Cloudflare Access variable is set',
    );
  }
  const backoff = Object.fromEntries(
    CHILD_NAMES.map((child) => {
      const minMs = num(`supervision.backoff.${child}.minMs`);
      const maxMs = num(`supervision.backoff.${child}.maxMs`);
      if (maxMs < minMs)
        throw new ConfigError(envOf(`supervision.backoff.${child}.maxMs`), 'must not be below the matching _MIN_MS');
      return [
        child,
        {
          minMs,
          maxMs,
          randomFactor: num('supervision.backoffRandomFactor'),
          resetAfterMs: num('supervision.backoffResetAfterMs'),
        },
      ];
    }),
  ) as Record<ChildName, BackoffSettings>;

  const dataDir = path.resolve(str('agent.dataDir').trim());
  const caFile = str('master.caFile').trim();
  const displayName = str('agent.displayName').trim();
  return {
    master: {
      url: str('master.url').trim().replace(/\/+$/, ''),
      apiKey: str('master.apiKey').trim(),
      apiKeyFile: secretFileOf(env, 'DOCKFLARE_API_KEY'),
      requestTimeoutMs: Math.round(num('master.requestTimeoutSeconds') * 1000),
      caFile: caFile === '' ? undefined : caFile,
    },
    access: accessId === '' ? undefined : { clientId: accessId, clientSecret: accessSecret },
    agent: {
      displayName: displayName === '' ? undefined : displayName,
      dataDir,
      decommissionTombstonePath: str('agent.decommissionTombstonePath') || path.join(dataDir, 'decommission.json'),
    },
    tunnel: {
      image: str('tunnel.image'),
      networkName: str('tunnel.networkName'),
      createNetwork: bool('tunnel.createNetwork'),
      removeOnShutdown: bool('tunnel.removeOnShutdown'),
      checkIntervalMs: Math.round(num('tunnel.checkIntervalSeconds') * 1000),
      startConfirmMs: num('tunnel.startConfirmMs'),
      replicas: num('tunnel.replicas'),
    },
    docker: { host: str('docker.host').trim(), mode: str('docker.mode') as AgentConfig['docker']['mode'] },
    intervals: {
      reportMs: Math.round(num('intervals.reportSeconds') * 1000),
      heartbeatMs: Math.round(num('intervals.heartbeatSeconds') * 1000),
      commandPollMs: Math.round(num('intervals.commandPollSeconds') * 1000),
      registerRetryMs: Math.round(num('intervals.registerRetrySeconds') * 1000),
    },
    heartbeat: { includeHealth: bool('heartbeat.includeHealth') },
    // listen() takes an IPv6 literal without its brackets.
    health: {
      port: num('health.port'),
      bindAddress: unbracketed(str('health.bindAddress').trim()),
      masterContactMs: Math.round(num('health.masterContactSeconds') * 1000),
    },
    chaos: {
      enabled: bool('chaos.enabled'),
      meanIntervalMs: Math.round(num('chaos.meanIntervalSeconds') * 1000),
      deviation: num('chaos.deviation'),
      targets: str('chaos.targets')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      seed: str('chaos.seed').trim() === '' ? null : Number(str('chaos.seed').trim()),
      polite: bool('chaos.polite'),
    },
    log: {
      level: str('log.level') as LogLevelName,
      healthIntervalMs: Math.round(num('log.healthIntervalSeconds') * 1000),
    },
    supervision: {
      root: { intensity: num('supervision.rootIntensity'), periodMs: num('supervision.rootPeriodMs') },
      workers: { intensity: num('supervision.workersIntensity'), periodMs: num('supervision.workersPeriodMs') },
      handlerTimeoutMs: num('supervision.handlerTimeoutMs'),
      stashCapacity: num('supervision.stashCapacity'),
      shutdownBudgetMs: num('supervision.shutdownBudgetMs'),
      backoff,
    },
  };
}

/** Every documented variable with its default and doc, for the README table and `--help`. */
export function describeVariables(): { env: string; default: unknown; doc: string; sensitive: boolean }[] {
  const out: { env: string; default: unknown; doc: string; sensitive: boolean }[] = [];
  const walk = (node: Record<string, unknown>): void => {
    if (typeof node.env === 'string') {
      out.push({ env: node.env, default: node.default, doc: String(node.doc), sensitive: node.sensitive === true });
      return;
    }
    for (const child of Object.values(node))
      if (child && typeof child === 'object') walk(child as Record<string, unknown>);
  };
  walk(schema);
  return out;
}
