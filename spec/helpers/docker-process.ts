/**
 * The agent as a real process (spec/helpers/agent-process.ts) configured like the in-process harness: the test
 * master, the test engine, the stand-in cloudflared image, the test network and short intervals.
 */
import type { AgentProcess } from './agent-process.js';
import { testAgentEnv } from './agent-harness.js';

export const agentProcessEnv = testAgentEnv;

export type Exit = Awaited<AgentProcess['exited']>;

/** The process's exit, or a rejection naming `what` if it has not exited within `timeoutMs`. */
export async function exitWithin(proc: AgentProcess, timeoutMs: number, what: string): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        new Error(
          `${what}: the agent process had not exited after ${timeoutMs} ms; stderr: ${proc.stderr().slice(-500)}`,
        ),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Cleanup: SIGKILL to this spec's own child if it still runs, then wait (bounded) for its exit. */
export async function killIfRunning(proc: AgentProcess | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGKILL');
  await exitWithin(proc, 5000, 'SIGKILL in cleanup');
}

/** Log lines at fatal level (bunyan 60) or naming a process-level failure. */
export function fatalLines(lines: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return lines.filter(
    (r) =>
      (typeof r.level === 'number' && r.level >= 60) ||
      r.event === 'process_crash' ||
      r.event === 'agent_fatal' ||
      r.event === 'intensity_exceeded',
  );
}

/** proc.waitFor with a failure message that says what was awaited and which events came last. */
export async function waitForLine(
  proc: AgentProcess,
  pred: (r: Record<string, unknown>) => boolean,
  timeoutMs: number,
  what: string,
): Promise<Record<string, unknown>> {
  try {
    return await proc.waitFor(pred, timeoutMs);
  } catch (err) {
    const last = proc.lines
      .slice(-8)
      .map((r) => String(r.event ?? r.msg ?? r.unparsed))
      .join(', ');
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what}; last events: ${last}; stderr: ${proc.stderr().slice(-300)}`,
      { cause: err },
    );
  }
}
