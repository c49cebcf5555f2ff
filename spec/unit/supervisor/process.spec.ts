import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';

function runTreeProbe(
  mode: string,
  limitMs: number,
): Promise<{ code: number | null; lines: Record<string, unknown>[]; ms: number }> {
  return new Promise((resolve, reject) => {
    const began = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('spec/fixtures/tree-probe.ts'), mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const killer = setTimeout(() => {
      child.kill('SIGKILL');
    }, limitMs);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({
        code,
        ms: Date.now() - began,
        lines: out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      });
    });
  });
}

describe('supervision tree as a process', () => {
  it('exits 70 after logging intensity_exceeded when the root gives up', async () => {
    const { code, lines } = await runTreeProbe('intensity', 15_000);
    expect(code).to.equal(70);
    // The same init failure four times is a crash loop: error, warn, then the repeats at debug (not printed).
    expect(lines.filter((l) => l.event === 'actor_crashed' && l.actor === 'flaky').map((l) => l.level)).to.deep.equal([
      50, 40,
    ]);
    expect(lines.find((l) => l.event === 'intensity_exceeded')).to.include({
      level: 60,
      supervisor: 'root',
      restartsInWindow: 4,
      lastOffender: 'flaky',
    });
    expect(lines.at(-1)).to.include({ event: 'agent_fatal', exitCode: 70 });
  });

  it('leaves no handles or timers after shutdown: the process ends by itself', async () => {
    const { code, lines, ms } = await runTreeProbe('shutdown', 15_000);
    expect(code, 'killed by the test: something kept the event loop alive').to.equal(0);
    expect(lines.find((l) => l.event === 'probe_shutdown')).to.include({ outcome: 'ok' });
    expect(ms).to.be.below(10_000);
  });
});
