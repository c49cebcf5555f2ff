/** A Swarm port for unit specs: what the spec gives it, and a loud failure naming any other call. */
import type { SwarmPort } from '../../docker/swarm-port.js';
import { failing } from './actor-driver.js';

const METHODS: readonly (keyof SwarmPort)[] = [
  'swarmRole',
  'listServices',
  'inspectService',
  'listActiveTasks',
  'inspectNetwork',
  'createOverlayNetwork',
  'createService',
  'updateService',
  'removeService',
  'scaleService',
  'serviceLogTail',
];

export function swarmStandIn(owner: string, given: Partial<SwarmPort>): SwarmPort {
  const port = Object.fromEntries(METHODS.map((m) => [m, failing(`${owner} Swarm`, m)])) as unknown as SwarmPort;
  return { ...port, ...given };
}
