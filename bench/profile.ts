/**
 * `npm run bench:profile`: where the agent's CPU goes. Runs the built agent as the bench does, with V8's sampling
 * profiler on (--cpu-prof), through an idle span (PROFILE_SECONDS, default 60, after a 20 s settle) and, with
 * PROFILE_BURST=N, a burst of N labelled containers started then stopped in parallel; then prints the functions
 * with the most self time, grouped by package, and each thread's CPU time and number of runs over the idle span (a
 * run is a wake-up: how the 1 s timer of the health server was found). The .cpuprofile files stay in the printed
 * directory for a viewer (Chrome DevTools, speedscope); BUNDLE_MINIFY=0 npm run build keeps the names readable.
 * For finding a cost only: no figure of the bench comes from here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AGENT_COMMAND, ensureBuilt, killAllTracked, spawnBareNode } from './agent.js';
import { cpuPercent, sampleTree } from './proc.js';
import { createContainer, dockerClient, removeForce, type BenchContainer } from './docker.js';
import { bodyType, masterWait, registeredId, withAgent } from './session.js';
import { Deadline, pause, say } from './util.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const seconds = Number(process.env.PROFILE_SECONDS ?? '60');
const burst = Number(process.env.PROFILE_BURST ?? '0');
/** PROFILE_ENV='A=1 B=2': settings beside REPORT_INTERVAL_SECONDS=5. PROFILE_CPU_ONLY=1: CPU % only, no profiler. */
const env: Record<string, string> = {
  REPORT_INTERVAL_SECONDS: '5',
  ...Object.fromEntries(
    (process.env.PROFILE_ENV ?? '')
      .split(' ')
      .filter((x) => x.includes('='))
      .map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]),
  ),
};
const cpuOnly = process.env.PROFILE_CPU_ONLY === '1';

/** Self time per function (and per package), from the samples' time deltas. */
function summarise(p: Profile, top = 30): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const pkg = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    if (!n) return;
    total += dt;
    const f = n.callFrame;
    const file = f.url.replace(/^file:\/\//, '');
    const key = `${f.functionName || '(anonymous)'} ${path.basename(file)}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const where =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ??
      (file === '' ? f.functionName : file.startsWith('node:') ? 'node:internal' : path.basename(file));
    pkg.set(where, (pkg.get(where) ?? 0) + dt);
  });
  const fmt = (m: Map<string, number>): string =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${(v / 1000).toFixed(1).padStart(8)} ms ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
      .join('\n');
  return `total sampled ${(total / 1000).toFixed(0)} ms\n-- by package/file\n${fmt(pkg)}\n-- by function (self)\n${fmt(self)}`;
}

async function main(): Promise<void> {
  ensureBuilt();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-profile-'));
  if (!cpuOnly) AGENT_COMMAND.nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200');
  const bare = spawnBareNode(AGENT_COMMAND.nodeFlags.filter((f) => !f.startsWith('--cpu-prof')));
  const docker = dockerClient();
  const ctx = { docker, deadline: new Deadline((seconds + 120) * 1000), logDir: dir };
  const made: BenchContainer[] = [];
  try {
    await withAgent(ctx, 'profile', env, async (s) => {
      const reg = await registeredId(s, 15_000);
      if (!reg) throw new Error('no registration');
      s.master.enroll(reg.agentId, 'profile');
      await masterWait(s.master, (r) => r.endpoint === 'events' && bodyType(r) === 'heartbeat', 15_000);
      await pause(20_000);
      say(`profiling ${seconds} s idle`);
      const [a0, b0] = [sampleTree(s.agent.pid), sampleTree(bare.pid ?? 0)];
      const threads = (): Map<string, [number, number]> => {
        const m = new Map<string, [number, number]>();
        for (const tid of readdirSync(`/proc/${s.agent.pid}/task`)) {
          try {
            const comm = readFileSync(`/proc/${s.agent.pid}/task/${tid}/comm`, 'utf8').trim();
            const f = readFileSync(`/proc/${s.agent.pid}/task/${tid}/schedstat`, 'utf8').split(' ');
            m.set(`${comm}#${tid}`, [Number(f[0]), Number(f[2])]);
          } catch {
            /* gone */
          }
        }
        return m;
      };
      const t0 = threads();
      await pause(seconds * 1000);
      const t1 = threads();
      say(
        `per thread ms: ${[...t1].map(([k, v]) => `${k}=${((v[0] - (t0.get(k)?.[0] ?? 0)) / 1e6).toFixed(1)}ms/${v[1] - (t0.get(k)?.[1] ?? 0)}runs`).join(' ')}`,
      );
      const [a1, b1] = [sampleTree(s.agent.pid), sampleTree(bare.pid ?? 0)];
      say(
        `idle CPU: agent ${cpuPercent(a0, a1).toFixed(4)} %, bare node ${cpuPercent(b0, b1).toFixed(4)} %; RSS agent ${(a1.rssKb / 1024).toFixed(1)} MB, bare ${(b1.rssKb / 1024).toFixed(1)} MB; master requests ${s.master.requests.filter((r) => r.at >= a0.at).length}`,
      );
      if (burst > 0) {
        for (let i = 0; i < burst; i++)
          made.push(
            await createContainer(
              docker,
              { 'dockflare.enable': 'true', 'dockflare.hostname': 'p.example.com' },
              'dfa-prof',
            ),
          );
        say(`burst of ${burst}`);
        await Promise.all(made.map((c) => docker.getContainer(c.id).start()));
        await pause(3000);
        await Promise.all(made.map((c) => docker.getContainer(c.id).stop({ t: 0 })));
        await pause(3000);
      }
    });
  } finally {
    await Promise.all(made.map((c) => removeForce(docker, c.id).catch(() => undefined)));
    killAllTracked();
  }
  bare.kill('SIGKILL');
  if (cpuOnly) return;
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(await readFile(path.join(dir, f), 'utf8')) as Profile;
    process.stdout.write(`${path.join(dir, f)}\n${summarise(p)}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`profile: ${String(err)}\n`);
  killAllTracked();
  process.exit(1);
});
