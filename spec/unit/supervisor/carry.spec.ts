import { expect } from 'chai';
import { ask, tell, type ActorRef } from '../../../supervisor/actor-ref.js';
import { childSpec, type ActorDef } from '../../../supervisor/child-spec.js';
import type { SupervisorMsg } from '../../../supervisor/protocol.js';
import { CellRegistry, startTree, type RunningTree } from '../../../supervisor/tree.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

/** An actor that counts in what it carries and in its own state, and crashes on request. */
type CounterMsg =
  | { readonly type: 'counter.bump' }
  | { readonly type: 'counter.crash' }
  | { readonly type: 'counter.get'; readonly replyTo: ActorRef<{ carried: number; own: number; gen: number }> };

interface Carried {
  bumps: number;
}

describe('supervisor: what an actor carries to its next incarnation', () => {
  let tree: RunningTree | undefined;
  afterEach(async () => {
    await tree?.shutdown(1000);
    tree = undefined;
  });

  function start(made: Carried[]) {
    const clock = new ManualClock();
    const sink = new LogSink();
    const registry = new CellRegistry(sink.log, 10, 'spec');
    const rootCell = registry.create<SupervisorMsg>('root');
    const cell = registry.create<CounterMsg, Carried>('counter');
    const def: ActorDef<{ own: number }, CounterMsg, Carried> = {
      carry: () => {
        const fresh = { bumps: 0 };
        made.push(fresh);
        return fresh;
      },
      init: () => ({ own: 0 }),
      handlers: {
        'counter.bump': (s, _m, ctx) => {
          ctx.carried.bumps++;
          return { own: s.own + 1 };
        },
        'counter.crash': () => {
          throw new Error('asked to crash');
        },
        'counter.get': (s, m, ctx) => {
          tell(m.replyTo, { carried: ctx.carried.bumps, own: s.own, gen: ctx.gen });
          return s;
        },
      },
    };
    const backoff = { minMs: 100, maxMs: 100, randomFactor: 0, resetAfterMs: 10_000 };
    tree = startTree({
      root: {
        id: 'root',
        strategy: 'one_for_one',
        limit: { intensity: 5, periodMs: 5000 },
        children: [childSpec({ cell, def, restart: 'permanent', backoff, shutdownTimeoutMs: 500 })],
      },
      rootCell,
      registry,
      runtime: { clock, handlerTimeoutMs: 1000, random: () => 0.5 },
      log: sink.log,
      onFatal: (err) => {
        throw err;
      },
    });
    const get = () =>
      ask<CounterMsg, { carried: number; own: number; gen: number }>(
        cell,
        (replyTo) => ({ type: 'counter.get', replyTo }),
        2000,
      );
    return { clock, sink, cell, get };
  }

  it('hands the same value to every incarnation, made once, while the state a handler returns starts afresh', async () => {
    const made: Carried[] = [];
    const t = start(made);
    tell(t.cell, { type: 'counter.bump' });
    tell(t.cell, { type: 'counter.bump' });
    expect(await t.get()).to.deep.equal({ carried: 2, own: 2, gen: 1 });

    tell(t.cell, { type: 'counter.crash' });
    await t.sink.waitFor((r) => r.event === 'restart_scheduled');
    t.clock.advance(100);
    await t.sink.waitFor((r) => r.event === 'actor_started' && r.gen === 2);
    tell(t.cell, { type: 'counter.bump' });
    expect(await t.get(), 'after a crash').to.deep.equal({ carried: 3, own: 1, gen: 2 });
    expect(made, 'made once').to.have.length(1);
    expect(t.cell.carried, 'readable from the cell, for a teardown').to.equal(made[0]);
    expect(t.cell.path).to.equal('spec/counter');
  });

  it('gives an actor that declares nothing to carry undefined, and makes nothing', () => {
    const registry = new CellRegistry(new LogSink().log, 10, 'other');
    const cell = registry.create<CounterMsg, number | undefined>('plain');
    expect(cell.carry(undefined)).to.equal(undefined);
    expect(cell.carried).to.equal(undefined);
    expect(cell.path).to.equal('other/plain');
  });
});
