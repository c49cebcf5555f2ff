/**
 * What a tunnel container removal came to. Behind a socket proxy that refuses DELETE the old container is renamed
 * aside instead (docs/protocol.md §13.12): each one is logged, and the first of the process says how to prune them.
 */
import type { Removal } from '../../docker/port.js';
import type { Logger } from '../../log/logger.js';

export function noteRemoval(log: Logger, memory: { renamedAside: number }, removal: Removal): void {
  if (removal.kind !== 'renamed') return;
  memory.renamedAside++;
  log.info({ event: 'tunnel_container_renamed_aside', name: removal.name }, 'old tunnel container renamed aside');
  if (memory.renamedAside === 1)
    log.warn(
      {
        event: 'tunnel_containers_left',
        why: 'the Docker socket proxy refuses DELETE',
        hint: 'remove them with: docker ps -aq --filter name=dockflare-agent-tunnel-replaced- | xargs docker rm',
      },
      'old tunnel containers are kept; prune them',
    );
}
