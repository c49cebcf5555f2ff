import { expect } from 'chai';
import { start, stop } from 'nact';
import { ActorCell, tell } from '../../../supervisor/actor-ref.js';
import { startIncarnation } from '../../../supervisor/actor-host.js';
import { drain, LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { newJournal, probeDef, type ProbeMsg } from '../../helpers/probe-actor.js';

/** Incarnations of one probe run by hand on the real host, so that a kill can come in the same tick as a send. */
function probeHost() {
  const system = start();
  const sink = new LogSink();
  const journal = newJournal();
  const cell = new ActorCell<ProbeMsg>('p', 'spec/p', 10, () => undefined);
  const def = probeDef('p', journal);
  const run = (gen: number) => {
    const inc = startIncarnation({
      parent: system,
      cell,
      def,
      gen,
      log: sink.log,
      runtime: { clock: new ManualClock(), handlerTimeoutMs: 1000, random: () => 0.5 },
      hooks: { onCrash: () => undefined, onExit: () => undefined },
    });
    cell.gen = gen;
    cell.status = 'running';
    cell.bind(inc);
    return inc;
  };
  return {
    system,
    cell,
    journal,
    run,
    close: () => {
      stop(system);
    },
  };
}

describe('supervisor/actor-host: what others sent a killed incarnation', () => {
  it('reaches the next incarnation when the kill comes in the same tick as the sends', async () => {
    const host = probeHost();
    const first = host.run(1);
    await drain();
    tell(host.cell, { type: 'probe.record', value: 'one' });
    tell(host.cell, { type: 'probe.record', value: 'two' });
    first.kill();
    await first.terminated;
    host.run(2);
    await drain();
    expect(host.journal.seen, 'both, once each, by the next incarnation').to.deep.equal(['p:one', 'p:two']);
    expect(host.cell.dropped).to.equal(0);
    host.close();
  });

  it('hands on the messages that wait behind one in progress, and not the one in progress', async () => {
    const host = probeHost();
    const first = host.run(1);
    await drain();
    tell(host.cell, { type: 'probe.hang', onAbort: 'resolve' });
    await drain();
    tell(host.cell, { type: 'probe.record', value: 'after' });
    first.kill();
    await first.terminated;
    host.run(2);
    await drain();
    expect(host.journal.seen).to.deep.equal(['p:after']);
    host.close();
  });
});
