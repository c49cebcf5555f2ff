import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { removeSpecContainers } from '../../helpers/docker-fixtures.js';
import { useSpecSession } from '../../helpers/spec-session.js';

/** `promtool check metrics` on `text` (scripts/promtool.sh takes promtool out of Debian's prometheus package). */
function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/promtool.sh', 'check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, output });
    });
    child.stdin.end(text);
  });
}

describe('metrics: what Prometheus tools accept', function () {
  this.timeout(120_000);
  const harness = useSpecSession(removeSpecContainers);

  it("passes promtool's check, for an agent running with its tunnel", async () => {
    const master = await harness.master();
    const agent = await harness.agent();
    master.enroll(await agent.registered(), 'metrics');
    await agent.sink.waitFor((r) => r.event === 'tunnel_started', 20_000, 'tunnel_started');
    const text = agent.agent.metrics();
    expect(text).to.include('dockflare_agent_tunnel_container_running 1');
    expect(await promtoolCheck(text)).to.deep.equal({ code: 0, output: '' });
  });

  it('fails a series promtool would refuse (the check itself works)', async () => {
    const broken = '# HELP x_seconds_sum t\n# TYPE x_seconds_sum counter\nx_seconds_sum 1\n';
    expect((await promtoolCheck(broken)).code).to.not.equal(0);
  });
});
