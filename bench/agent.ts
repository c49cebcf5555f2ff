/**
 * The agent under test as users run it: the command of the image's ENTRYPOINT and CMD (read from the Dockerfile,
 * tini left out, /app mapped to this checkout), on the production bundle, rebuilt first when it is missing or
 * older than any source file it is built from, so that the figures are never those of stale code. Every process
 * started here is tracked, so the run's cleanup can end exactly these (by pid) even after a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { say } from './util.js';

export const ROOT = path.resolve(import.meta.dirname, '..');

/** `node <flags> <script> <args>` as the Dockerfile runs it. */
export interface AgentCommand {
  nodeFlags: string[];
  script: string;
  args: string[];
}

function dockerfileArray(text: string, instruction: string): string[] {
  const line = text.split('\n').find((l) => l.startsWith(`${instruction} [`));
  if (line === undefined) throw new Error(`Dockerfile: no ${instruction} in exec form`);
  const value: unknown = JSON.parse(line.slice(instruction.length + 1));
  if (!Array.isArray(value) || !value.every((x) => typeof x === 'string'))
    throw new Error(`Dockerfile: ${instruction} is not a string array`);
  return value;
}

/** The image's command; BENCH_NODE_FLAGS (space separated) replaces its node flags, for diagnosing a figure only. */
export function imageCommand(dockerfile = path.join(ROOT, 'Dockerfile')): AgentCommand {
  const text = readFileSync(dockerfile, 'utf8');
  const entry = dockerfileArray(text, 'ENTRYPOINT');
  const afterInit = entry.includes('--') ? entry.slice(entry.indexOf('--') + 1) : entry;
  if (afterInit[0] !== 'node') throw new Error(`Dockerfile: ENTRYPOINT does not run node: ${JSON.stringify(entry)}`);
  const rest = afterInit.slice(1);
  const scriptAt = rest.findIndex((a) => !a.startsWith('-'));
  const script = rest[scriptAt];
  if (script === undefined) throw new Error('Dockerfile: ENTRYPOINT names no script');
  const override = process.env.BENCH_NODE_FLAGS;
  return {
    nodeFlags: override !== undefined ? override.split(' ').filter((f) => f !== '') : rest.slice(0, scriptAt),
    script: script.startsWith('/app/') ? path.join(ROOT, script.slice('/app/'.length)) : script,
    args: [...rest.slice(scriptAt + 1), ...dockerfileArray(text, 'CMD')],
  };
}

export const AGENT_COMMAND = imageCommand();
const ENTRY = AGENT_COMMAND.script;
/** For the results: the command as run, relative to the checkout. */
export const AGENT_COMMAND_TEXT = [
  'node',
  ...AGENT_COMMAND.nodeFlags,
  path.relative(ROOT, AGENT_COMMAND.script),
  ...AGENT_COMMAND.args,
].join(' ');
/** The directories the agent is built from (tsconfig.build.json, scripts/bundle.mjs). */
const BUILT_DIRS = [
  'domain',
  'supervisor',
  'messages',
  'actors',
  'docker',
  'master',
  'persistence',
  'log',
  'agent',
  'cli',
];

/** Source files newer than the bundle, or whose compiled .js is missing or older than the source. */
function staleSources(): string[] {
  const stale: string[] = [];
  const bundleMs = existsSync(ENTRY) ? statSync(ENTRY).mtimeMs : 0;
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const out = path.join(ROOT, 'dist', child.replace(/\.ts$/, '.js'));
        const srcMs = statSync(path.join(ROOT, child)).mtimeMs;
        if (!existsSync(out) || statSync(out).mtimeMs < srcMs || bundleMs < srcMs) stale.push(child);
      }
    }
  };
  for (const dir of BUILT_DIRS) if (existsSync(path.join(ROOT, dir))) walk(dir);
  // The bundle also depends on how it is built and on the installed dependencies.
  for (const file of ['scripts/bundle.mjs', 'package-lock.json']) {
    const full = path.join(ROOT, file);
    if (existsSync(full) && bundleMs < statSync(full).mtimeMs) stale.push(file);
  }
  return stale;
}

/** Builds dist when needed; returns what was done, for the results. */
export function ensureBuilt(): { built: boolean; staleFiles: number; buildMs: number } {
  const stale = staleSources();
  if (existsSync(ENTRY) && stale.length === 0) return { built: false, staleFiles: 0, buildMs: 0 };
  say(`dist is missing or stale (${stale.length} source file(s) newer than their build): npm run build`);
  const started = Date.now();
  const r = spawnSync('npm', ['run', '--silent', 'build'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 180_000,
  });
  if (r.status !== 0)
    throw new Error(`npm run build failed (status ${String(r.status)}${r.error ? `, ${r.error.message}` : ''})`);
  return { built: true, staleFiles: stale.length, buildMs: Date.now() - started };
}

/** Which code was measured: the commit, plus the built files that differ from it (a dirty tree is measured as is). */
export function sourceState(): { commit: string; uncommittedBuiltFiles: string[] } {
  const git = (args: string[]): string => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout;
  // Porcelain lines are "XY path": the status columns may be blank, so no trimming before the cut.
  const dirty = git(['status', '--porcelain', '--', ...BUILT_DIRS])
    .split('\n')
    .filter((l) => l.length > 3)
    .map((l) => l.slice(3));
  return { commit: git(['rev-parse', '--short', 'HEAD']).trim() || 'unknown', uncommittedBuiltFiles: dirty };
}

/** Processes this run started and has not yet seen exit. */
const live = new Set<ChildProcess>();

export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => {
    live.delete(child);
  });
}

/**
 * The floor every footprint is judged against: node with `flags` (the agent's by default), holding its event loop
 * open as the agent does and doing nothing else. Tracked, so the run's cleanup ends it.
 */
export function spawnBareNode(flags: readonly string[] = AGENT_COMMAND.nodeFlags): ChildProcess {
  const bare = spawn(process.execPath, [...flags, '-e', 'setInterval(()=>{},2**31-1)'], { stdio: 'ignore' });
  track(bare);
  return bare;
}

/** Cleanup: SIGKILL every process of ours still running, by its pid. */
export function killAllTracked(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface AgentRun {
  child: ChildProcess;
  pid: number;
  /** Date.now() immediately before spawn(). */
  spawnedAt: number;
  dataDir: string;
  lines: Record<string, unknown>[];
  exited: Promise<Exit>;
  /** The first log record matching `pred` within `timeoutMs`, else null. */
  waitForLine(
    pred: (r: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown> | null>;
  /** SIGKILL if still running, wait for the exit, remove the data directory. Idempotent. */
  dispose(): Promise<void>;
}

export interface AgentOptions {
  masterUrl: string;
  key: string;
  /** Only what differs from the agent's own defaults, so the defaults are what gets measured. */
  env?: Record<string, string>;
  logDir: string;
  label: string;
}

export const BENCH_NETWORK = 'dockflare-bench-net';
export const CLOUDFLARED_IMAGE = process.env.DOCKERTEST_CLOUDFLARED_IMAGE ?? 'local/cloudflared:stand-in';

export async function startAgent(opts: AgentOptions): Promise<AgentRun> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dfa-bench-agent-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    DOCKFLARE_MASTER_URL: opts.masterUrl,
    DOCKFLARE_API_KEY: opts.key,
    AGENT_DATA_DIR: dataDir,
    DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
    // The registry-free stand-in: the real image cannot be pulled here, and the agent's work is the same.
    CLOUDFLARED_IMAGE,
    CLOUDFLARED_NETWORK_NAME: BENCH_NETWORK,
    // The health server stays on as by default, on loopback and a random port so runs never collide.
    HEALTH_CHECK_PORT: String(20000 + Math.floor(Math.random() * 20000)),
    HEALTH_BIND_ADDRESS: '127.0.0.1',
    ...opts.env,
  };
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [...AGENT_COMMAND.nodeFlags, ENTRY, ...AGENT_COMMAND.args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  if (child.pid === undefined) throw new Error('could not spawn the agent');
  const pid = child.pid;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal, at: Date.now() });
    });
  });
  const log = createWriteStream(path.join(opts.logDir, `agent-${opts.label}.log`));
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    log.write(d);
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ unparsed: line });
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    log.write(d);
  });
  child.once('exit', () => {
    log.end();
  });

  let disposed: Promise<void> | null = null;
  return {
    child,
    pid,
    spawnedAt,
    dataDir,
    lines,
    exited,
    async waitForLine(pred, timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(pred);
        if (found) return found;
        if (Date.now() >= end || child.exitCode !== null || child.signalCode !== null) return null;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    dispose() {
      disposed ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        }
        await rm(dataDir, { recursive: true, force: true });
      })();
      return disposed;
    },
  };
}

/** SIGTERM and the time until the process has exited (bounded), as a user's `docker stop` would see it. */
export async function terminate(
  agent: AgentRun,
  timeoutMs: number,
): Promise<{ exitMs: number | null; exit: Exit | null }> {
  const sentAt = Date.now();
  agent.child.kill('SIGTERM');
  const exit = await Promise.race([
    agent.exited,
    new Promise<null>((r) =>
      setTimeout(() => {
        r(null);
      }, timeoutMs),
    ),
  ]);
  return { exitMs: exit ? exit.at - sentAt : null, exit };
}
