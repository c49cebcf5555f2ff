/** A Swarm port for unit specs: what the spec gives it, and a loud failure naming any other call. */
import type { ServiceState, SwarmPort, TunnelServiceSpec } from '../../docker/swarm-port.js';
import { portStandIn } from './docker-stand-in.js';

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
  return portStandIn(owner, 'Swarm', METHODS, given);
}

/** What Swarm reports of a service made from `spec`, as the port reads it back. */
export function serviceFromSpec(spec: TunnelServiceSpec, id: string, version: number): ServiceState {
  return {
    id,
    name: spec.name,
    version,
    labels: spec.labels,
    image: spec.image,
    env: spec.env,
    args: spec.args,
    replicas: spec.replicas,
    networkIds: [spec.networkId],
    restartCondition: 'any',
    forceUpdate: spec.forceUpdate ?? 0,
  };
}
