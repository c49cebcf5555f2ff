import { expect } from 'chai';
import { injectCrash } from '../../../supervisor/protocol.js';
import { tell } from '../../../supervisor/actor-ref.js';
import { testDocker } from '../../helpers/docker.js';
import { useSpecSession } from '../../helpers/spec-session.js';

const docker = testDocker();
async function removeTunnel(): Promise<void> {
  await docker
    .getContainer('dockflare-agent-tunnel')
    .remove({ force: true })
    .catch(() => undefined);
}

describe('master side: commands', () => {
  const harness = useSpecSession(removeTunnel);

  it('runs a whole batch in order: a malformed command and an unknown action are logged, the rest still runs', async () => {
    const master = await harness.master();
    const agent = await harness.agent();
    const id = await agent.registered();
    master.queueCommand(id, { action: 'start_tunnel', tunnel_id: 'broken' });
    master.queueCommand(id, { action: 'reticulate_splines' });
    master.queueCommand(id, { action: 'update_tunnel_config', rules: { a: {} } });
    master.queueCommand(id, {
      action: 'start_tunnel',
      tunnel_id: 'tid-1',
      tunnel_name: 'batch',
      token: 'batch-token-value-0001',
    });
    await agent.sink.waitFor((r) => r.event === 'tunnel_started', 15_000, 'tunnel start');
    expect(agent.sink.events('command_rejected')[0]).to.include({ level: 50 });
    expect(String(agent.sink.events('command_rejected')[0]!.reason)).to.match(/start_tunnel: (tunnel_name|token)/);
    expect(agent.sink.events('command_ignored')[0]).to.include({ action: 'reticulate_splines', level: 40 });
    expect(agent.sink.events('command_noop')[0]).to.include({ action: 'update_tunnel_config' });
    expect(agent.sink.lines.join('\n')).not.to.include('batch-token-value-0001');
    expect(master.requests.some((r) => r.path.includes('/tunnels') || r.path.includes('/ingress'))).to.equal(false);
  });

  it('does not lose a command when the CommandPoller crashes while the poll that carries it is in flight', async () => {
    const master = await harness.master();
    // Restarted at once, so that its first poll would go out while the killed one's is still held.
    const agent = await harness.agent({
      env: { AGENT_BACKOFF_COMMAND_POLLER_MIN_MS: '100', AGENT_BACKOFF_COMMAND_POLLER_MAX_MS: '200' },
    });
    const id = await agent.registered();
    await master.waitFor((r) => r.endpoint === 'commands' && r.status === 200);
    master.addFault({ endpoint: 'commands', fault: { kind: 'slow', delayMs: 1500 }, times: 1 });
    const { token } = master.enroll(id, 'crash-test');
    // The slow poll is answered after the poller has died; the reply must still reach the TunnelKeeper.
    const polling = master.waitFor(
      (r) =>
        r.endpoint === 'commands' &&
        Array.isArray((r.response as { commands?: unknown[] } | undefined)?.commands) &&
        (r.response as { commands: unknown[] }).commands.length > 0,
      10_000,
      'the poll carrying start_tunnel',
    );
    // The poll is at the master, its reply held back: now the poller dies with it in flight.
    await master.waitForHeld('commands');
    tell(agent.agent.cells.workers, injectCrash('command-poller', 'spec: crash right after the poll went out'));
    await agent.sink.waitFor((r) => r.event === 'actor_crashed' && r.actor === 'command-poller', 5000);
    const held = await polling;
    // The restarted poller's first poll waits for the held one: two polls out at once could hand their commands
    // over in the wrong order.
    const next = await master.waitFor(
      (r) => r.endpoint === 'commands' && r.seq > held.seq,
      10_000,
      "the restarted poller's first poll",
    );
    expect(next.at - held.at, 'sent after the held poll was answered (1500 ms)').to.be.at.least(1450);
    await agent.sink.waitFor((r) => r.event === 'tunnel_started', 15_000, 'tunnel start despite the poller crash');
    const info = await docker.getContainer('dockflare-agent-tunnel').inspect();
    expect(info.Config.Env).to.include(`TUNNEL_TOKEN=${token}`);
  });

  it('re-registers when the command poll meets 404 (agent removed on a v1 master), and the workers restart with it', async () => {
    const master = await harness.master({ mode: 'v1' });
    const agent = await harness.agent();
    const id = await agent.registered();
    master.removeAgent(id);
    await master.waitFor((r) => r.endpoint === 'commands' && r.status === 404, 5000);
    const again = await master.waitFor(
      (r) => r.endpoint === 'register' && r.status >= 200 && r.status < 300 && r.seq > 1,
      10_000,
      'second registration',
    );
    expect((again.body as { agent_id?: string }).agent_id).to.equal(id);
    expect(agent.sink.events('reregistration_required')[0]!.cause).to.be.oneOf([
      'commands_not_found',
      'events_not_found',
    ]);
    await agent.sink.waitFor((r) => r.event === 'actor_started' && r.child === 'command-poller' && r.gen === 2, 5000);
    expect(agent.sink.events('intensity_exceeded')).to.be.empty;
    await master.waitFor((r) => r.endpoint === 'commands' && r.status === 200 && r.seq > again.seq, 5000);
    expect(master.agent(id)).not.to.equal(undefined);
  });
});
