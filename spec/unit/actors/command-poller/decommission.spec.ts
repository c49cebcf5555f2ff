import { expect } from 'chai';
import { commandPollerDef } from '../../../../actors/command-poller/command-poller.js';
import type { DecommissionAck, MasterClient } from '../../../../master/client.js';
import type { MasterResult } from '../../../../domain/master-result.js';
import type { Lifecycle, TombstonePhase } from '../../../../domain/lifecycle.js';
import { identityChanged, type RegistrationMsg } from '../../../../messages/registration.js';
import type { TunnelKeeperMsg } from '../../../../messages/tunnel-keeper.js';
import type { TombstoneStore, TombstoneWrite } from '../../../../persistence/tombstone.js';
import { callbackRef, tell } from '../../../../supervisor/actor-ref.js';
import { ActorDriver, failing } from '../../../helpers/actor-driver.js';
import { LogSink } from '../../../helpers/log-sink.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

type Ack = MasterResult<{ code: string | null }>;
const OK: Ack = { ok: true, status: 200, value: { code: 'acknowledged' } };
const DOWN: Ack = { ok: false, failure: { kind: 'transient', status: 503, retryAfterMs: null, reason: 'HTTP 503' } };
const IDENTITY = { agentId: 'agent-1', protocolVersion: 2 as const, sessionId: 's1' };
const command = (phase: 'prepare' | 'finalize', commandId: string) => ({
  action: `${phase}_decommission`,
  protocol_version: 1,
  operation_id: 'op-1',
  command_id: commandId,
  requested_self_action: 'stop',
});

/** The poller with a master whose polls answer `polls` in turn and whose acknowledgements answer `acks` in turn. */
function run(acks: Ack[]) {
  const clock = new ManualClock();
  const sink = new LogSink();
  const sent: { op: string; body: DecommissionAck }[] = [];
  const keeperAsked: string[] = [];
  const writes: TombstonePhase[] = [];
  /** Every effect in the order it happened: tombstone, keeper, acknowledgement, the end. */
  const order: string[] = [];
  let finished = 0;
  let nextPoll: unknown[] = [];
  const tombstones: TombstoneStore & { lifecycle: Lifecycle } = {
    lifecycle: 'enrolled',
    file: '/data/decommission.json',
    current: null,
    write: (phase): Promise<TombstoneWrite> => {
      writes.push(phase);
      order.push(`tombstone ${phase}`);
      tombstones.lifecycle = phase === 'prepared' ? 'prepared' : 'decommissioned';
      return Promise.resolve({ ok: true, changed: true, tombstone: null as never });
    },
    acknowledged: () => {
      order.push('tombstone acknowledged');
      return Promise.resolve();
    },
  };
  const client: MasterClient = {
    register: failing('decommission spec', 'register'),
    postEvent: failing('decommission spec', 'postEvent'),
    lastSuccessAt: null,
    fetchCommands: () => {
      const commands = nextPoll;
      return Promise.resolve({ ok: true, status: 200, value: { commands, warning: null } });
    },
    ackDecommission: (_agent, op, body) => {
      sent.push({ op, body });
      order.push(`ack ${String(body.phase)}`);
      return Promise.resolve(acks.shift() ?? OK);
    },
  };
  const def = commandPollerDef({
    client,
    registration: callbackRef<RegistrationMsg>('registration', () => undefined),
    tunnelKeeper: callbackRef<TunnelKeeperMsg>('tunnel-keeper', (m) => {
      if (m.type !== 'tunnel.decommission') throw new Error(`keeper: unexpected ${m.type}`);
      keeperAsked.push(m.phase);
      order.push(`keeper ${m.phase}`);
      tell(m.replyTo, { tunnelContainer: 'stopped', cloudflaredImage: 'cloudflare/cloudflared:1', errorCode: null });
    }),
    pollIntervalMs: 1000,
    retryCapMs: 8000,
    learnSecret: failing('decommission spec', 'learnSecret'),
    decommission: {
      tombstones,
      locateSelf: () => Promise.resolve(null),
      cloudflaredImage: 'cloudflare/cloudflared:1',
      clock,
    },
    onDecommissioned: () => {
      finished++;
      order.push('self-stop');
    },
    random: () => 0.5,
  });
  const driver = new ActorDriver(def, { name: 'command-poller', log: sink.log, clock });
  return {
    clock,
    sink,
    sent,
    keeperAsked,
    writes,
    driver,
    order,
    finished: () => finished,
    serve(commands: unknown[]) {
      nextPoll = commands;
    },
  };
}

describe('command poller: decommission', () => {
  it('prepares once and acknowledges with every field the master checks; a re-served acknowledged id is not sent again', async () => {
    const r = run([]);
    r.serve([{ action: 'start_tunnel' }, command('prepare', 'c1')]);
    await r.driver.start();
    await r.driver.send(identityChanged(IDENTITY));
    await r.driver.turns();
    await r.driver.advance(1000);
    await r.driver.turns();
    await r.driver.advance(1000);
    await r.driver.turns();
    expect(r.writes).to.deep.equal(['prepared']);
    expect(r.keeperAsked).to.deep.equal(['prepare']);
    expect(r.sent).to.have.length(1);
    expect(r.sent[0]).to.deep.equal({
      op: 'op-1',
      body: {
        command_id: 'c1',
        phase: 'prepared',
        tombstone_persisted: true,
        tunnel_container: 'stopped',
        cloudflared_image: 'cloudflare/cloudflared:1',
        agent_image: null,
        self_stop_capability: 'manual',
        agent_session_id: 's1',
      },
    });
  });

  it('ignores other commands once prepared, and retries a failed final acknowledgement with backoff until it is accepted', async () => {
    const r = run([OK, DOWN, DOWN, DOWN]);
    r.serve([command('prepare', 'c1')]);
    await r.driver.start();
    await r.driver.send(identityChanged(IDENTITY));
    await r.driver.advance(0);
    await r.driver.turns();
    r.serve([{ action: 'stop_tunnel' }, command('finalize', 'c2')]);
    // The final acknowledgement's retries wait on the clock: moved by hand, as `advance` would wait for them.
    r.clock.advance(1000);
    await r.driver.turns();
    expect(r.sink.events('commands_ignored_decommissioning'), 'stop_tunnel not obeyed').to.have.length(1);
    expect(r.sent.map((s) => s.body.phase)).to.deep.equal(['prepared', 'shutdown_scheduled']);
    expect(r.finished()).to.equal(0);
    r.serve([]);
    for (let i = 0; i < 6; i++) {
      r.clock.advance(8000);
      await r.driver.turns();
    }
    expect(r.sent.map((s) => s.body.phase)).to.deep.equal(['prepared', ...Array<string>(4).fill('shutdown_scheduled')]);
    expect(r.sink.events('decommission_ack_retrying'), 'said once').to.have.length(1);
    expect(r.finished(), 'the end only after the master accepted it').to.equal(1);
    expect(r.writes).to.deep.equal(['prepared', 'finalized']);
    expect(
      r.order.filter((o, i, all) => all.indexOf(o) === i),
      'each step stored before the next',
    ).to.deep.equal([
      'tombstone prepared',
      'keeper prepare',
      'ack prepared',
      'tombstone finalized',
      'keeper finalize',
      'ack shutdown_scheduled',
      'tombstone acknowledged',
      'self-stop',
    ]);
  });

  it('the end is not lost when the poller restarts while the final acknowledgement is being retried', async () => {
    const r = run([OK, DOWN]);
    r.serve([command('prepare', 'c1')]);
    await r.driver.start();
    await r.driver.send(identityChanged(IDENTITY));
    await r.driver.advance(0);
    await r.driver.turns();
    r.serve([command('finalize', 'c2')]);
    r.clock.advance(1000);
    await r.driver.turns();
    expect(r.sent.map((s) => s.body.phase)).to.deep.equal(['prepared', 'shutdown_scheduled']);
    r.driver.kill();
    r.clock.advance(8000);
    await r.driver.turns();
    expect(r.sent).to.have.length(3);
    expect(r.finished(), 'told although the incarnation that started the step is gone').to.equal(1);
  });

  it('a final acknowledgement refused for the record (Force came first) ends the agent: no retry loop', async () => {
    const forced: Ack = { ok: false, failure: { kind: 'forbidden', status: 403, code: 'agent_key_mismatch' } };
    const r = run([OK, forced]);
    r.serve([command('prepare', 'c1')]);
    await r.driver.start();
    await r.driver.send(identityChanged(IDENTITY));
    await r.driver.advance(0);
    await r.driver.turns();
    r.serve([command('finalize', 'c2')]);
    r.clock.advance(1000);
    await r.driver.turns();
    r.clock.advance(60_000);
    await r.driver.turns();
    expect(r.sent.map((s) => s.body.phase)).to.deep.equal(['prepared', 'shutdown_scheduled']);
    expect(r.finished()).to.equal(1);
  });

  it("a failure of the master's own clean-up after our acknowledgement is a warning, not an agent error", async () => {
    const cleanup: Ack = {
      ok: false,
      failure: { kind: 'invalid', status: 409, code: 'tunnel_sync_failed', message: null },
    };
    const r = run([cleanup]);
    r.serve([command('prepare', 'c1')]);
    await r.driver.start();
    await r.driver.send(identityChanged(IDENTITY));
    await r.driver.advance(0);
    await r.driver.turns();
    expect(r.sink.events('decommission_ack_failed').map((e) => e.level)).to.deep.equal([40]);
  });
});
