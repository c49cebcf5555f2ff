import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface AgentProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
  waitFor(pred: (r: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Agent processes still running: a spec that failed before ending its own must not keep mocha from exiting. */
const running = new Set<ChildProcess>();

/** Kills what specs left running (the root hook's last step); returns how many there were. */
export function killStrayAgentProcesses(): number {
  const stray = [...running];
  for (const child of stray) child.kill('SIGKILL');
  running.clear();
  return stray.length;
}

/** Runs the agent's CLI (TypeScript source through tsx) as a real process with exactly the given environment. */
export function startAgentProcess(args: string[], env: Record<string, string>): AgentProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('cli/main.ts'), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  const lines: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  const waiters: { pred: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }[] =
    [];
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        rec = { unparsed: line };
      }
      lines.push(rec);
      for (const w of [...waiters])
        if (w.pred(rec)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rec);
        }
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal, at: Date.now() });
    });
  });
  return {
    child,
    lines,
    exited,
    stderr: () => err,
    waitFor(pred, timeoutMs = 10_000) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`agent log wait timed out; stderr: ${err.slice(-500)}`));
        }, timeoutMs);
        waiters.push({
          pred,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        });
      });
    },
  };
}
