import { expect } from 'chai';
import { ask, tell } from '../../../supervisor/actor-ref.js';
import { childSpec } from '../../../supervisor/child-spec.js';
import { supervisorDef } from '../../../supervisor/supervisor.js';
import { CellRegistry, startTree } from '../../../supervisor/tree.js';
import { injectCrash, type SupervisorMsg } from '../../../supervisor/protocol.js';
import { drain, LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { newJournal, probeDef, type ProbeMsg, type ProbeState } from '../../helpers/probe-actor.js';
import { DEFAULT_BACKOFF } from '../../helpers/tree-harness.js';

describe('supervisor: a supervisor killed with its children', () => {
  it('stops its children with it (their release runs) and the old children handle nothing more', async () => {
    const clock = new ManualClock();
    const sink = new LogSink();
    const journal = newJournal();
    const registry = new CellRegistry(sink.log, 100, 'spec');
    const runtime = { clock, handlerTimeoutMs: 1000, random: () => 0.5 };
    const rootCell = registry.create<SupervisorMsg>('root');
    const subCell = registry.create<SupervisorMsg>('sub');
    const a = registry.create<ProbeMsg>('a');
    const b = registry.create<ProbeMsg>('b');
    const probe = (cell: typeof a, name: string) =>
      childSpec({
        cell,
        def: probeDef(name, journal),
        restart: 'permanent',
        backoff: DEFAULT_BACKOFF,
        shutdownTimeoutMs: 500,
      });
    const sub = childSpec({
      cell: subCell,
      def: supervisorDef({
        id: 'sub',
        strategy: 'one_for_one',
        limit: { intensity: 5, periodMs: 5000 },
        children: [probe(a, 'a'), probe(b, 'b')],
        runtime,
        baseLog: sink.log,
      }),
      restart: 'permanent',
      backoff: DEFAULT_BACKOFF,
      shutdownTimeoutMs: 1000,
    });
    const tree = startTree({
      root: { id: 'root', strategy: 'one_for_one', limit: { intensity: 5, periodMs: 5000 }, children: [sub] },
      rootCell,
      registry,
      runtime,
      log: sink.log,
      onFatal: () => undefined,
    });
    try {
      await sink.waitFor((r) => r.event === 'actor_started' && r.child === 'b');
      // A message already queued in the old child's mailbox when its supervisor dies.
      tell(a, { type: 'probe.hang' });
      tell(a, { type: 'probe.record', value: 'queued' });
      tell(rootCell, injectCrash('sub', 'spec'));
      await sink.waitFor((r) => r.event === 'restart_scheduled' && r.child === 'sub');
      await drain();
      expect(journal.releases).to.include.members(['a@1', 'b@1']);
      expect(journal.seen, 'the old incarnation ran nothing after its supervisor died').to.deep.equal([]);
      clock.advance(100);
      await sink.waitFor((r) => r.event === 'actor_started' && r.child === 'a' && r.gen === 2);
      const state = await ask<ProbeMsg, ProbeState>(a, (replyTo) => ({ type: 'probe.get', replyTo }), 2000);
      expect(state.gen).to.equal(2);
      expect(journal.seen).to.deep.equal(['a:queued']);
    } finally {
      await tree.shutdown(1000);
    }
  });
});
