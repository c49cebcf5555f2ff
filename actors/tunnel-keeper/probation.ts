/**
 * The tunnel keeper's start confirm (docs/protocol.md §7.2 step 5) as plain data: which run of the cloudflared
 * container is under probation, since when it counts, and whether the keeper made it; and what the keeper keeps across
 * its restarts. The keeper's actor does the Docker calls and the timers; these rules are what decide.
 */
import type { ContainerState } from '../../docker/port.js';
import type { Turns } from '../../supervisor/turns.js';

/** One run of a container: a restart by Docker (RestartCount) or a new start (StartedAt) is another run. */
export interface Run {
  containerId: string;
  startedAt: string;
  restartCount: number;
}

export interface Probation extends Run {
  /** Our clock (ms) from which the run counts. */
  since: number;
  /** Why the keeper looked (a command, a container event, the periodic check): a recreate says so. */
  cause: string;
  /** The keeper made this container (tunnel_started, counted) rather than found it (tunnel_adopted). */
  created: boolean;
}

/**
 * What the keeper's incarnations hand on (`ctx.carried`); its turns keep one keeper operation on Docker at a time,
 * across restarts and with the process's teardown.
 */
export interface KeeperMemory extends Turns {
  /**
   * The container this process created and has not yet confirmed: a keeper restarted in between confirms it as
   * started (counted, with its cause), not as adopted.
   */
  created: Probation | null;
  /** Old containers renamed aside because the socket proxy refuses DELETE (removal.ts). */
  renamedAside: number;
}

export const newKeeperMemory = (): KeeperMemory => ({ created: null, busy: Promise.resolve(), renamedAside: 0 });

export const sameRun = (a: Run, b: Run): boolean =>
  a.containerId === b.containerId && a.startedAt === b.startedAt && a.restartCount === b.restartCount;

/** The container still runs the run under probation: not stopped, not being restarted, not restarted since. */
export const stillRunning = (c: ContainerState | null, p: Probation): boolean =>
  c !== null &&
  c.running &&
  !c.restarting &&
  sameRun({ containerId: c.id, startedAt: c.startedAt, restartCount: c.restartCount }, p);

export interface Sighting {
  run: Run;
  /** The keeper started it just now; otherwise it found it running. */
  created: boolean;
  cause: string;
  now: number;
  /** The keeper's incarnation knew no container yet (an agent or keeper restart). */
  firstLook: boolean;
}

/**
 * The probation of a run the keeper has not told the master about. Its own creation from before a keeper restart
 * goes on where it was. One found running at a first look counts from Docker's start time and is usually confirmed
 * at once; any other run is timed on our own clock, so a remote engine's clock skew cannot make a fresh run look old.
 */
export function probationFor(memory: KeeperMemory, sighting: Sighting): Probation {
  const { run, created, cause, now, firstLook } = sighting;
  const mine = memory.created;
  if (mine !== null && sameRun(mine, run)) return { ...mine };
  const dockerSince = Date.parse(run.startedAt);
  const since = !created && firstLook && Number.isFinite(dockerSince) ? Math.min(now, dockerSince) : now;
  const probation: Probation = { ...run, since, cause, created };
  if (created) memory.created = probation;
  return probation;
}

/** How long until the run has lasted `confirmMs`; 0 when it has. */
export const confirmDueIn = (p: Probation, now: number, confirmMs: number): number =>
  Math.max(0, confirmMs - (now - p.since));
