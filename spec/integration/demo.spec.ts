import { spawn } from 'node:child_process';
import { expect } from 'chai';

/** The README's first command, bounded by DEMO_SECONDS, exactly as a user runs it. */
describe('npm run demo', function () {
  this.timeout(90_000);
  it('shows registration, the sample container, the tunnel coming up, heartbeats, and cleans up after itself', async () => {
    const child = spawn('npm', ['run', '--silent', 'demo'], {
      env: { ...process.env, DEMO_SECONDS: '7' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', resolve);
    });
    expect(code, out).to.equal(0);
    expect(out).to.match(/master ← register\s+demo-host → agent \S+, protocol v2 \(201\)/);
    expect(out).to.match(/master ← container_start dockflare-demo-web .*dockflare\.hostname=demo\.example\.com/);
    expect(out).to.match(/master → commands\s+start_tunnel/);
    expect(out).to.match(/master ← tunnel_status\s+running demo-tunnel\s+cloudflared version/);
    expect(out).to.match(/master ← heartbeat/);
    expect(out).to.match(/agent exited with code 0; tunnel container removed/);
    expect(out).to.match(/done\n/);
  });
});
