import { expect } from 'chai';
import { commandPollerDef } from '../../../../actors/command-poller/command-poller.js';
import type { MasterClient } from '../../../../master/client.js';
import type { MasterResult } from '../../../../domain/master-result.js';
import { identityChanged, type RegistrationMsg } from '../../../../messages/registration.js';
import type { TunnelKeeperMsg } from '../../../../messages/tunnel-keeper.js';
import { callbackRef } from '../../../../supervisor/actor-ref.js';
import { ActorDriver, failing } from '../../../helpers/actor-driver.js';
import { LogSink } from '../../../helpers/log-sink.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

type Reply = MasterResult<{ commands: unknown[]; warning: string | null }>;
const FORBIDDEN: Reply = { ok: false, failure: { kind: 'forbidden', status: 403, code: 'agent_key_mismatch' } };
const EMPTY: Reply = { ok: true, status: 200, value: { commands: [], warning: null } };
const IDENTITY = { agentId: 'agent-1', protocolVersion: 2 as const, sessionId: 's1' };
const INFO = 30;
const ERROR = 50;
const DEBUG = 20;

/**
 * The real poller definition against a master whose /commands answers what `reply` says, driven as the host does;
 * each incarnation after a kill is a fresh one (as after the workers' restart that a re-registration brings), with
 * what the poller carries across.
 */
function pollerRun() {
  const clock = new ManualClock();
  const sink = new LogSink();
  const reply = { value: FORBIDDEN };
  const toRegistration: RegistrationMsg[] = [];
  const client: MasterClient = {
    register: failing('poller spec', 'register'),
    ackDecommission: failing('poller spec', 'ackDecommission'),
    postEvent: failing('poller spec', 'postEvent'),
    lastSuccessAt: null,
    fetchCommands: () => Promise.resolve(reply.value),
  };
  const def = commandPollerDef({
    client,
    registration: callbackRef<RegistrationMsg>('registration', (m) => {
      toRegistration.push(m);
    }),
    tunnelKeeper: callbackRef<TunnelKeeperMsg>('tunnel-keeper', (m) => {
      throw new Error(`keeper: unexpected ${m.type}`);
    }),
    pollIntervalMs: 30_000,
    retryCapMs: 60_000,
    learnSecret: failing('poller spec', 'learnSecret'),
    decommission: {
      tombstones: {
        lifecycle: 'enrolled',
        file: '',
        current: null,
        write: failing('poller spec', 'tombstone write'),
        acknowledged: failing('poller spec', 'tombstone acknowledged'),
      },
      locateSelf: failing('poller spec', 'locateSelf'),
      cloudflaredImage: 'cloudflare/cloudflared:test',
      clock,
    },
    onDecommissioned: failing('poller spec', 'onDecommissioned'),
    random: () => 0.5,
  });
  const driver = new ActorDriver(def, { name: 'command-poller', log: sink.log, clock });
  return { sink, reply, toRegistration, driver };
}

describe('command poller: a lasting failure across its restarts', () => {
  it('reports a failure that outlives a restart once, at error; then at debug; and its end once, with the whole count', async () => {
    const run = pollerRun();
    const poller = run.driver;
    await poller.start();
    await poller.send(identityChanged(IDENTITY));
    await poller.advance(0);
    expect(
      run.toRegistration.map((m) => m.type),
      'a 403 asks for a re-registration',
    ).to.include('registration.required');
    poller.kill(); // The re-registration restarts the workers.

    await poller.start();
    await poller.send(identityChanged(IDENTITY));
    await poller.advance(0);
    expect(
      run.sink.events('commands_failed').map((r) => [r.level, r.failures]),
      'loud once, then quiet',
    ).to.deep.equal([
      [ERROR, 1],
      [DEBUG, 2],
    ]);

    run.reply.value = EMPTY;
    await poller.advance(60_000);
    expect(run.sink.events('commands_recovered').map((r) => [r.level, r.failures])).to.deep.equal([[INFO, 2]]);
    poller.kill();
  });
});
