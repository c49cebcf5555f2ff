/**
 * The burst scenario's two controls, each its own process with the agent's node flags: the bare subscriber of
 * Docker's event stream (what the engine and the machine add before any agent code runs) and the serial poster
 * with a test master of its own (what v2's one-event-request-in-flight rule costs any agent on this machine).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { TestMaster } from '../spec/master/index.js';
import { AGENT_COMMAND, ROOT, track } from './agent.js';
import { MASTER_KEEPALIVE_MS } from './session.js';

/** A control process; resolves once it prints `ready`, passing on its other lines. Returns its kill. */
async function controlProcess(
  script: string,
  args: string[],
  timeoutMs: number,
  onLine: (line: string) => void,
): Promise<() => void> {
  const child = spawn(process.execPath, [...AGENT_COMMAND.nodeFlags, path.join(ROOT, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child);
  let ready: () => void = () => undefined;
  const readyNow = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'ready') ready();
    else onLine(line);
  });
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([
    readyNow.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        resolve(false);
      }, timeoutMs);
      // One that dies before it is ready need not be waited for.
      child.once('exit', () => {
        resolve(false);
      });
    }),
  ]);
  clearTimeout(timer);
  if (!ok) {
    child.kill('SIGKILL');
    throw new Error(`${script} did not get ready (exit code ${String(child.exitCode)}, waited up to ${timeoutMs} ms)`);
  }
  return () => child.kill('SIGKILL');
}

/** The bare subscriber; `seen` maps `<id> <action>` to its receipt time. */
export async function bareSubscriber(timeoutMs: number): Promise<{ seen: Map<string, number>; stop: () => void }> {
  const seen = new Map<string, number>();
  const stop = await controlProcess('bench/bare-subscriber.mjs', [], timeoutMs, (line) => {
    const [id, action, at] = line.split(' ');
    if (id && action && at && !seen.has(`${id} ${action}`)) seen.set(`${id} ${action}`, Number(at));
  });
  return { seen, stop };
}

/** The protocol floor: the serial poster and its own test master, as slow and with the same limits as the agent's. */
export async function protocolFloor(
  timeoutMs: number,
  masterDelayMs: number,
  limits: { maxRequestBytes?: number; maxContainers?: number },
): Promise<{ master: TestMaster; stop: () => Promise<void> }> {
  const master = await TestMaster.start({ mode: 'v2', keepAliveTimeoutMs: MASTER_KEEPALIVE_MS, ...limits });
  if (masterDelayMs > 0) master.addFault({ fault: { kind: 'slow', delayMs: masterDelayMs }, endpoint: 'events' });
  try {
    const kill = await controlProcess('bench/bare-poster.mjs', [master.url, master.generateKey()], timeoutMs, () => {
      // it prints nothing else
    });
    return {
      master,
      stop: async () => {
        kill();
        await master.stop();
      },
    };
  } catch (err) {
    await master.stop();
    throw err;
  }
}
