import { spawn } from 'node:child_process';
import { expect } from 'chai';

/** The README's first command, as a user runs it; `env` bounds it (DEMO_SECONDS) or ends it by a decommission. */
async function demo(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn('npm', ['run', '--silent', 'demo'], {
    env: { ...process.env, ...env },
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
  return { code, out };
}

describe('npm run demo', function () {
  this.timeout(90_000);
  it('shows registration, the sample container, the tunnel coming up, heartbeats, and cleans up after itself', async () => {
    const { code, out } = await demo({ DEMO_SECONDS: '7' });
    expect(code, out).to.equal(0);
    expect(out).to.match(/master ← register\s+demo-host → agent \S+, protocol v2 \(201\)/);
    expect(out).to.match(/master ← container_start dockflare-demo-web .*dockflare\.hostname=demo\.example\.com/);
    expect(out).to.match(/master → commands\s+start_tunnel/);
    expect(out).to.match(/master ← tunnel_status\s+running demo-tunnel\s+cloudflared version/);
    expect(out).to.match(/master ← heartbeat/);
    expect(out).to.match(/agent exited with code 0; tunnel container removed/);
    expect(out).to.match(/done\n/);
  });

  it('with DEMO_DECOMMISSION=1 ends with a decommission, printing each acknowledgement', async () => {
    const { code, out } = await demo({ DEMO_DECOMMISSION: '1', DEMO_SECONDS: '60' });
    expect(code, out).to.equal(0);
    expect(out).to.match(/admin removes the agent → decommission \S+ \(202\)/);
    expect(out).to.match(/master → commands\s+prepare_decommission/);
    expect(out).to.match(/master ← decommission ack prepared, tunnel stopped → acknowledged \(200\)/);
    expect(out).to.match(/master ← decommission ack shutdown_scheduled, tunnel n\/a → acknowledged \(200\)/);
    expect(out).to.match(/the agent finished its decommission and exited: cleaning up/);
    expect(out).to.match(/agent exited with code 0; tunnel container still present \(stopped\)/);
    expect(out).not.to.match(/\d+ s elapsed/);
  });

  it('with DEMO_SWARM=1 shows a labelled service reaching the master and the tunnel service converging, then leaves the swarm', async () => {
    const { code, out } = await demo({ DEMO_SWARM: '1', DEMO_SECONDS: '12' });
    expect(code, out).to.equal(0);
    expect(out).to.match(/made the engine a single-node swarm/);
    expect(out).to.match(
      /master ← container_start dockflare-demo-web \[service, \d\/2 tasks running\] {2}.*dockflare\.hostname=demo\.example\.com/,
    );
    expect(out).to.match(/swarm: tunnel service dockflare-agent-tunnel has 2\/2 tasks running/);
    expect(out).to.match(/master ← tunnel_status\s+running demo-tunnel/);
    expect(out).to.match(/agent exited with code 0; tunnel service removed/);
    expect(out).to.match(/left the swarm\n.*done\n/);
  });
});
