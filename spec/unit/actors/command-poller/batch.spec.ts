import type { DecommissionCommand } from '../../../../actors/command-poller/decommission.js';
import type { LifecycleView } from '../../../../domain/lifecycle.js';
import { expect } from 'chai';
import { handOffCommands, MAX_BATCH } from '../../../../actors/command-poller/hand-off.js';
import { MAX_TOKEN, MAX_TUNNEL_NAME } from '../../../../master/decoders.js';
import type { TunnelKeeperMsg } from '../../../../messages/tunnel-keeper.js';
import { callbackRef } from '../../../../supervisor/actor-ref.js';
import { LogSink } from '../../../helpers/log-sink.js';

const TOKEN = (i: number): string => `eyJhIjoiYWNjb3VudCIsInQiOiJ0dW5uZWwiLCJzIjoi${String(i).padStart(6, '0')}`;
const start = (i: number): Record<string, unknown> => ({
  action: 'start_tunnel',
  tunnel_id: `tid-${i}`,
  tunnel_name: `name-${i}`,
  token: TOKEN(i),
});

function handOff(batch: unknown[], lifecycle: LifecycleView = { lifecycle: 'enrolled' }) {
  const sink = new LogSink();
  const told: TunnelKeeperMsg[] = [];
  const learned: string[] = [];
  const decommissions: DecommissionCommand[] = [];
  const result = handOffCommands(
    batch,
    {
      keeper: callbackRef<TunnelKeeperMsg>('keeper', (m) => told.push(m)),
      decommission: (c) => decommissions.push(c),
      lifecycle,
      learnSecret: (t) => learned.push(t),
    },
    sink.log,
  );
  return { sink, told, learned, result, decommissions };
}

describe('command poller: one batch of commands, bounded', () => {
  it('a reply of 500,000 junk commands: a few log lines with counts, nothing told, nothing past the cap decoded', () => {
    const { sink, told, result } = handOff(Array.from({ length: 500_000 }, (_, i) => ({ junk: i })));
    expect(told).to.deep.equal([]);
    expect(result).to.deep.equal({ forwarded: 0, rejected: MAX_BATCH });
    expect(sink.records.length, 'log lines').to.be.at.most(3);
    expect(sink.events('commands_truncated')[0]).to.include({ received: 500_000, kept: MAX_BATCH });
    expect(sink.events('command_rejected')).to.have.length(1);
    expect(sink.events('command_rejected')[0]).to.include({ count: MAX_BATCH, level: 50 });
  });

  it('acts on the last tunnel command of a batch only, and learns only its token', () => {
    const { sink, told, learned } = handOff([start(1), { action: 'stop_tunnel' }, start(2), start(3)]);
    expect(told.map((m) => m.type)).to.deep.equal(['tunnel.start']);
    expect(told[0]).to.deep.include({ assignment: { tunnelId: 'tid-3', tunnelName: 'name-3', token: TOKEN(3) } });
    expect(sink.events('commands_superseded')[0]).to.include({ count: 3 });
    expect(learned).to.deep.equal([TOKEN(3)]);
  });

  it('10,000 start_tunnel commands recreate the tunnel once, not 10,000 times', () => {
    const { told } = handOff(Array.from({ length: 10_000 }, (_, i) => start(i)));
    expect(told).to.have.length(1);
  });

  it('keeps the order of the other commands around the tunnel command', () => {
    const { told, sink } = handOff([
      { action: 'update_tunnel_config', rules: { a: {} } },
      { action: 'stop_tunnel' },
      { action: 'reticulate_splines' },
      { action: 'reticulate_splines' },
    ]);
    expect(told.map((m) => m.type)).to.deep.equal(['tunnel.update-config', 'tunnel.stop']);
    expect(sink.events('command_ignored')).to.have.length(1);
    expect(sink.events('command_ignored')[0]).to.include({ count: 2, action: 'reticulate_splines' });
  });

  it('refuses tunnel names and tokens over their bounds', () => {
    const { told, sink } = handOff([
      { ...start(1), tunnel_name: 'n'.repeat(MAX_TUNNEL_NAME + 1) },
      { ...start(2), token: 'x'.repeat(MAX_TOKEN + 1) },
    ]);
    expect(told).to.deep.equal([]);
    expect(sink.events('command_rejected')[0]).to.include({ count: 2 });
  });
});
