import { expect } from 'chai';
import { tell, callbackRef, type ActorRef } from '../../../supervisor/actor-ref.js';
import type { Handlers } from '../../../supervisor/child-spec.js';
import { tunnelStop, type TunnelKeeperMsg } from '../../../messages/tunnel-keeper.js';
import type { TunnelView } from '../../../domain/tunnel.js';
import type { RegistrationMsg } from '../../../messages/registration.js';

// Compile-time guarantees; `npm run typecheck` fails if any @ts-expect-error stops being an error.
type Noop = Record<string, never>;
const noop = (s: Noop): Noop => s;

// @ts-expect-error a handler table missing 'tunnel.get' (and others) does not compile
const incomplete: Handlers<Noop, TunnelKeeperMsg> = { 'tunnel.start': noop };

const complete: Handlers<Noop, TunnelKeeperMsg> = {
  'tunnel.start': noop,
  'tunnel.restart': noop,
  'tunnel.stop': noop,
  'tunnel.update-config': noop,
  'tunnel.check': noop,
  'tunnel.container-event': noop,
  'tunnel.service-event': noop,
  'tunnel.decommission': noop,
  'identity.changed': noop,
  'tunnel.get': (s, msg) => {
    tell(msg.replyTo, {
      desiredState: 'unknown',
      name: null,
      id: null,
      containerId: null,
      containerRunning: false,
      version: null,
    });
    return s;
  },
};

describe('messages: typed refs and handler tables', () => {
  it('delivers only the declared message type through tell', () => {
    const got: TunnelKeeperMsg[] = [];
    const ref: ActorRef<TunnelKeeperMsg> = callbackRef('t', (m) => got.push(m));
    tell(ref, tunnelStop());
    const wrong: RegistrationMsg = { type: 'registration.attempt' };
    // @ts-expect-error a registration message is not a tunnel message
    tell(ref, wrong);
    expect(got.map((m) => m.type)).to.deep.equal(['tunnel.stop', 'registration.attempt']);
  });

  it('narrows each handler to its own message', () => {
    const views: TunnelView[] = [];
    void complete['tunnel.get'](
      {},
      { type: 'tunnel.get', replyTo: callbackRef('r', (v) => views.push(v)) },
      undefined as never,
    );
    expect(views).to.have.length(1);
    expect(incomplete).to.be.an('object');
  });
});
