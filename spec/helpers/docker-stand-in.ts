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

export function dockerStandIn(owner: string, given: Partial<DockerPort>): DockerPort {
  const port = Object.fromEntries(METHODS.map((m) => [m, failing(`${owner} Docker`, m)])) as unknown as DockerPort;
  return { ...port, ...given };
}
