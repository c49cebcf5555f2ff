import { expect } from 'chai';
import {
  commandPollerDef,
  newPollLogMemory,
  type CommandPollerState,
} from '../../../actors/command-poller/command-poller.js';
import { newTurns } from '../../../supervisor/turns.js';
import type { MasterClient } from '../../../master/client.js';
import type { MasterResult } from '../../../domain/master-result.js';
import type { CommandPollerMsg } from '../../../messages/command-poller.js';
import { identityChanged, type RegistrationMsg } from '../../../messages/registration.js';
import type { TunnelKeeperMsg } from '../../../messages/tunnel-keeper.js';
import { callbackRef } from '../../../supervisor/actor-ref.js';
import type { ActorContext } from '../../../supervisor/child-spec.js';
import { actorContext, failing } from '../../helpers/actor-context.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

type Reply = MasterResult<{ commands: unknown[]; warning: string | null }>;
const FORBIDDEN: Reply = { ok: false, failure: { kind: 'forbidden', status: 403, code: 'agent_key_mismatch' } };
const EMPTY: Reply = { ok: true, status: 200, value: { commands: [], warning: null } };
const IDENTITY = { agentId: 'agent-1', protocolVersion: 2 as const, sessionId: 's1' };
const INFO = 30;
const ERROR = 50;
const DEBUG = 20;

/**
 * The real poller definition against a master whose /commands answers what `reply` says, driven as the host does;
 * each `incarnation()` is a fresh one (as after the workers' restart that a re-registration brings) on the deps
 * the composition root keeps.
 */
function pollerRun() {
  const clock = new ManualClock();
  const sink = new LogSink();
  const reply = { value: FORBIDDEN };
  const toRegistration: RegistrationMsg[] = [];
  const client: MasterClient = {
    register: failing('poller spec', 'register'),
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
    seenDecommissions: new Set(),
    polls: newTurns(),
    pollLog: newPollLogMemory(),
    random: () => 0.5,
  });
  const incarnation = async () => {
    const mailbox: CommandPollerMsg[] = [];
    let pending = 0;
    const toSelf = (msg: CommandPollerMsg): void => {
      mailbox.push(msg);
    };
    const ctx = actorContext<CommandPollerMsg>({
      name: 'command-poller',
      log: sink.log,
      clock,
      toSelf,
      pipe: (work, onOk) => {
        pending++;
        void work
          .then((v) => {
            mailbox.push(onOk(v));
          })
          .finally(() => {
            pending--;
          });
      },
    });
    let state: CommandPollerState = await def.init(ctx);
    const settle = async (): Promise<void> => {
      for (;;) {
        for (let msg = mailbox.shift(); msg !== undefined; msg = mailbox.shift()) {
          const handler = def.handlers[msg.type] as (
            s: CommandPollerState,
            m: CommandPollerMsg,
            c: ActorContext<CommandPollerMsg>,
          ) => CommandPollerState;
          state = handler(state, msg, ctx);
        }
        if (pending === 0 && mailbox.length === 0) return;
        await new Promise<void>((resolve) => {
          setImmediate(resolve);
        });
      }
    };
    return {
      send: async (msg: CommandPollerMsg): Promise<void> => {
        mailbox.push(msg);
        await settle();
      },
      advance: (ms: number): Promise<void> => clock.advanceSettling(ms, settle),
      close: (): void => {
        ctx.timers.close();
      },
    };
  };
  return { sink, reply, toRegistration, incarnation };
}

describe('command poller: a lasting failure across its restarts', () => {
  it('reports a failure that outlives a restart once, at error; then at debug; and its end once, with the whole count', async () => {
    const run = pollerRun();
    const first = await run.incarnation();
    await first.send(identityChanged(IDENTITY));
    await first.advance(0);
    expect(
      run.toRegistration.map((m) => m.type),
      'a 403 asks for a re-registration',
    ).to.include('registration.required');
    first.close(); // The re-registration restarts the workers.

    const second = await run.incarnation();
    await second.send(identityChanged(IDENTITY));
    await second.advance(0);
    expect(
      run.sink.events('commands_failed').map((r) => [r.level, r.failures]),
      'loud once, then quiet',
    ).to.deep.equal([
      [ERROR, 1],
      [DEBUG, 2],
    ]);

    run.reply.value = EMPTY;
    await second.advance(60_000);
    expect(run.sink.events('commands_recovered').map((r) => [r.level, r.failures])).to.deep.equal([[INFO, 2]]);
    second.close();
  });
});
