import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';

function runProbe(mode: string): Promise<{ code: number | null; lines: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('spec/fixtures/guard-probe.ts'), mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({
        code,
        lines: out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      });
    });
  });
}

describe('agent/process-guards', () => {
  it('logs a floating rejection as process_crash at fatal and exits 1, with secrets redacted', async () => {
    const { code, lines } = await runProbe('rejection');
    expect(code).to.equal(1);
    const rec = lines.find((l) => l.event === 'process_crash');
    expect(rec).to.include({ level: 60, kind: 'unhandledRejection' });
    expect((rec!.err as { message: string }).message).to.include('floating failure');
    expect(JSON.stringify(lines)).not.to.include('guard-probe-secret-value');
  });

  it('logs an exception thrown in a timer callback and exits 1', async () => {
    const { code, lines } = await runProbe('timer-throw');
    expect(code).to.equal(1);
    expect(lines.find((l) => l.event === 'process_crash')).to.include({ level: 60, kind: 'uncaughtException' });
  });
});
