/**
 * What a run's log says about the Docker side beyond the actors: the mode the agent chose, in Swarm mode the tunnel
 * service's life (created, repaired and why) and how long the services could not be read, labelled services
 * cloudflared cannot reach; and where a decommission got to.
 */
import type { LogRecord } from './parse.js';

export interface DockerReview {
  mode: 'standalone' | 'swarm' | null;
  tunnelService: { created: number; repaired: Record<string, number> };
  /** Spans in which the services could not be read (a node that lost its manager role); open at the end or not. */
  servicesUnreadable: { count: number; openAtEnd: boolean };
  unreachableServices: string[];
  decommission: { phases: string[]; finished: boolean; tunnelsRenamedAside: number };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function reviewDocker(records: readonly LogRecord[]): DockerReview {
  const out: DockerReview = {
    mode: null,
    tunnelService: { created: 0, repaired: {} },
    servicesUnreadable: { count: 0, openAtEnd: false },
    unreachableServices: [],
    decommission: { phases: [], finished: false, tunnelsRenamedAside: 0 },
  };
  let unreadable = false;
  for (const r of records) {
    const f = r.fields;
    switch (r.event) {
      case 'docker_mode':
        out.mode = f.mode === 'swarm' ? 'swarm' : 'standalone';
        break;
      case 'tunnel_service_created':
        out.tunnelService.created++;
        break;
      case 'tunnel_service_updated':
        for (const d of Array.isArray(f.drift) ? (f.drift as unknown[]) : [])
          out.tunnelService.repaired[str(d)] = (out.tunnelService.repaired[str(d)] ?? 0) + 1;
        break;
      case 'swarm_scan_failed':
        if (!unreadable) out.servicesUnreadable.count++;
        unreadable = true;
        break;
      case 'swarm_scan_recovered':
        unreadable = false;
        break;
      case 'service_unreachable':
        if (!out.unreachableServices.includes(str(f.service))) out.unreachableServices.push(str(f.service));
        break;
      case 'decommission_acknowledged':
        out.decommission.phases.push(str(f.phase) || '?');
        break;
      case 'agent_decommissioned':
      case 'agent_self_stop':
      case 'decommission_manual_stop':
        out.decommission.finished = true;
        break;
      case 'tunnel_container_renamed_aside':
        out.decommission.tunnelsRenamedAside++;
        break;
      case null:
      default:
        break;
    }
  }
  out.servicesUnreadable.openAtEnd = unreadable;
  return out;
}

/** Reasons for the verdict: [unhealthy, degraded]. */
export function dockerReasons(d: DockerReview): [string[], string[]] {
  const bad: string[] = [];
  const meh: string[] = [];
  if (d.servicesUnreadable.openAtEnd) bad.push('Swarm services unreadable at the end of the log (not a manager?)');
  else if (d.servicesUnreadable.count > 0)
    meh.push(`Swarm services unreadable ${d.servicesUnreadable.count} time(s), recovered`);
  if (d.unreachableServices.length > 0)
    meh.push(`labelled services cloudflared cannot reach: ${d.unreachableServices.join(', ')}`);
  return [bad, meh];
}

export function renderDocker(d: DockerReview): string[] {
  const lines: string[] = [];
  if (d.mode !== null) lines.push(`  docker mode: ${d.mode}`);
  if (d.mode === 'swarm') {
    const repaired = Object.entries(d.tunnelService.repaired)
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
    lines.push(
      `  tunnel service created: ${d.tunnelService.created}   repaired: ${repaired || 'never'}   services unreadable: ` +
        `${d.servicesUnreadable.count}${d.servicesUnreadable.openAtEnd ? ' (still)' : ''}`,
    );
  }
  const dc = d.decommission;
  if (dc.phases.length > 0 || dc.finished)
    lines.push(`  decommission: ${dc.phases.join(' → ') || 'none acknowledged'}${dc.finished ? ', finished' : ''}`);
  if (dc.tunnelsRenamedAside > 0)
    lines.push(`  old tunnel containers renamed aside (proxy refuses DELETE): ${dc.tunnelsRenamedAside}`);
  return lines;
}
