/**
 * A Docker port for unit specs that does what the spec gives it and fails loudly on any other call, naming it: a
 * spec that does not expect a call must not get a silent `undefined is not a function` or a made-up answer.
 */
import type { DockerPort } from '../../docker/port.js';
import { failing } from './actor-driver.js';

const METHODS: readonly (keyof DockerPort)[] = [
  'listManagedContainers',
  'inspectContainer',
  'subscribeEvents',
  'imageExists',
  'pullImage',
  'networkExists',
  'createNetwork',
  'createAndStart',
  'stopContainer',
  'stopAndRemove',
  'logTail',
];

/** Any port: each of `methods` fails loudly, naming `owner` and `what`, unless `given` says what it does. */
export function portStandIn<P>(owner: string, what: string, methods: readonly (keyof P)[], given: Partial<P>): P {
  const port = Object.fromEntries(methods.map((m) => [m, failing(`${owner} ${what}`, String(m))])) as unknown as P;
  return { ...port, ...given };
}

export function dockerStandIn(owner: string, given: Partial<DockerPort>): DockerPort {
  return portStandIn(owner, 'Docker', METHODS, given);
}
