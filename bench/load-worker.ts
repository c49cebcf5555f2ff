/**
 * The events scenario's load generator: starts and stops the containers of a batch from its own process. The test
 * master shares the benchmark's process, and the master's receipt time ends every latency figure; issuing 13
 * parallel Docker calls from that same event loop delayed those receipts by tens of milliseconds (docker-modem
 * formats every request for its debug log), which was measured against the agent. A real master never shares an
 * event loop with whoever starts the containers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { dockerClient } from './docker.js';

type Job = { seq: number; action: 'start' | 'stop'; ids: string[] };
type Reply = { seq: number; error: string | null };

if (process.argv[2] === 'serve') {
  const docker = dockerClient();
  process.on('message', (job: Job) => {
    const calls = job.ids.map((id) =>
      job.action === 'start' ? docker.getContainer(id).start() : docker.getContainer(id).stop({ t: 5 }),
    );
    Promise.all(calls).then(
      () => {
        process.send?.({ seq: job.seq, error: null } satisfies Reply);
      },
      (err: unknown) => {
        process.send?.({ seq: job.seq, error: err instanceof Error ? err.message : String(err) } satisfies Reply);
      },
    );
  });
  process.send?.('ready');
}

/** A child process that starts or stops a batch of containers in parallel on request. */
export class LoadWorker {
  private seq = 0;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: Reply | 'ready') => {
      if (m === 'ready') return;
      this.waiting.get(m.seq)?.(m);
      this.waiting.delete(m.seq);
    });
  }

  static async start(): Promise<LoadWorker> {
    const child = fork(path.join(import.meta.dirname, 'load-worker.ts'), ['serve'], {
      execArgv: ['--import', 'tsx'],
      env: process.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => {
        resolve();
      });
      child.once('exit', (code) => {
        reject(new Error(`load worker exited (${String(code)}) before it was ready`));
      });
    });
    return new LoadWorker(child);
  }

  /** Starts or stops all `ids` at once; resolves when Docker has answered every call. */
  run(action: 'start' | 'stop', ids: string[]): Promise<void> {
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(seq, (r) => {
        if (r.error === null) resolve();
        else reject(new Error(`load worker: ${action}: ${r.error}`));
      });
      this.child.send({ seq, action, ids } satisfies Job);
    });
  }

  close(): void {
    this.child.kill();
  }
}
