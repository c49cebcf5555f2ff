import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';

function runProbe(mode: string): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('spec/fixtures/guard-probe.ts'), mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({
        code,
        stderr,
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

  it("logs Node's warnings as process_warning lines (DEP0169 at debug) and prints none to stderr", async () => {
    const { code, lines, stderr } = await runProbe('warnings');
    expect(code).to.equal(0);
    const warnings = lines.filter((l) => l.event === 'process_warning').map((l) => [l.name, l.code, l.level]);
    expect(warnings).to.deep.equal([
      ['DeprecationWarning', 'DEP0169', 20],
      ['MaxListenersExceededWarning', null, 40],
    ]);
    expect(stderr).not.to.include('Warning');
  });
});
