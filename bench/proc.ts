/**
 * Footprint of a process tree from /proc (Linux only): RSS from /proc/<pid>/status VmRSS, CPU from each thread's
 * /proc/<pid>/task/<tid>/schedstat (run time in ns), cross-checked with /proc/<pid>/stat utime+stime. Read
 * directly rather than through `ps`, whose own start-up would be sampled and whose CPU column is a lifetime
 * average, not the window we want.
 *
 * Why nanoseconds: utime+stime come in clock ticks (10 ms). An idle agent uses about 60 ms of CPU a minute, so
 * one tick is a sixth of the figure and every reading was a multiple of 0.0167 % (0.100, 0.117, 0.133...).
 * schedstat is the same kernel accounting (sum_exec_runtime) without the rounding.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of utime/stime; 100 on every common Linux, but asked rather than assumed. */
export const CLK_TCK = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

interface Stat {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    const ticks = Number(rest[11]) + Number(rest[12]);
    return Number.isFinite(ppid) && Number.isFinite(ticks) ? { ppid, ticks } : null;
  } catch {
    return null;
  }
}

function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** `root` and all its live descendants (one pass over /proc, parent links followed from the root). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(name));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  for (let i = 0; i < queue.length; i++) {
    const pid = queue[i];
    if (pid === undefined) break;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** A thread's time on a CPU and time runnable but waiting for one (schedstat fields 1 and 2), in ns. */
export interface SchedTimes {
  runNs: number;
  waitNs: number;
}

/** One schedstat file (a thread's, or /proc/<pid>/schedstat: the thread-group leader's); null if unreadable. */
function readSchedstat(file: string): SchedTimes | null {
  try {
    const [run, wait] = readFileSync(file, 'utf8').split(' ').map(Number);
    return run !== undefined && wait !== undefined && Number.isFinite(run) && Number.isFinite(wait)
      ? { runNs: run, waitNs: wait }
      : null;
  } catch {
    return null;
  }
}

/** CPU time of all live threads of `pid` in ns, or null where schedstat is not available. */
function runtimeNs(pid: number): number | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let sum = 0;
  for (const tid of tids) {
    const t = readSchedstat(`/proc/${pid}/task/${tid}/schedstat`);
    if (t === null) return null;
    sum += t.runNs;
  }
  return sum;
}

export interface TreeSample {
  at: number;
  rssKb: number;
  pids: number;
  ticks: Map<number, number>;
  runtimeNs: Map<number, number | null>;
}

export function sampleTree(root: number): TreeSample {
  const pids = processTree(root);
  const ticks = new Map<number, number>();
  const runtime = new Map<number, number | null>();
  let rss = 0;
  for (const pid of pids) {
    rss += rssKb(pid);
    const st = readStat(pid);
    if (st) ticks.set(pid, st.ticks);
    runtime.set(pid, runtimeNs(pid));
  }
  return { at: Date.now(), rssKb: rss, pids: pids.length, ticks, runtimeNs: runtime };
}

/**
 * CPU as % of one core between two samples, from the threads' run time in ns. Per pid: a process present in both
 * counts its delta, one that appeared in between counts all of it (it all fell in the window); one that exited is
 * lost, and so is a thread that exited (the agent has neither: see `pidsMax`, and the tick figure beside it).
 * Falls back to clock ticks where schedstat is missing.
 */
export function cpuPercent(first: TreeSample, last: TreeSample): number {
  let ns = 0;
  for (const [pid, t] of last.runtimeNs) {
    const before = first.runtimeNs.get(pid);
    if (t === null || before === null) return cpuPercentTicks(first, last);
    ns += t - (before ?? 0);
  }
  const seconds = (last.at - first.at) / 1000;
  return seconds > 0 ? (ns / 1e9 / seconds) * 100 : 0;
}

/** The same from utime+stime in clock ticks: whole processes, exited threads included, 10 ms resolution. */
export function cpuPercentTicks(first: TreeSample, last: TreeSample): number {
  let ticks = 0;
  for (const [pid, t] of last.ticks) ticks += t - (first.ticks.get(pid) ?? 0);
  const seconds = (last.at - first.at) / 1000;
  return seconds > 0 ? (ticks / CLK_TCK / seconds) * 100 : 0;
}

/**
 * Other Docker daemons on this machine (another session's private engine, say) compete for the same CPUs and
 * disk; the results name them so that a noisy figure can be read for what it is.
 */
export function foreignDaemons(ownSocket: string | null): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    if (!/^(\S*\/)?dockerd(\s|$)/.test(cmd)) continue;
    if (ownSocket !== null && cmd.includes(ownSocket)) continue;
    out.push(`${name}: ${cmd.slice(0, 120)}`);
  }
  return out;
}

/** The main thread of `pid`: where a Node process runs its JavaScript. Null where schedstat is not available. */
export function mainThreadSched(pid: number): SchedTimes | null {
  return readSchedstat(`/proc/${pid}/schedstat`);
}

/** Milliseconds run and waited between two readings, null if either is missing. */
export function schedDelta(a: SchedTimes | null, b: SchedTimes | null): { runMs: number; waitMs: number } | null {
  if (a === null || b === null) return null;
  return { runMs: Math.round((b.runNs - a.runNs) / 1e6), waitMs: Math.round((b.waitNs - a.waitNs) / 1e6) };
}
