/**
 * One batch of the master's commands, decoded and handed to the tunnel keeper in order (docs/protocol.md §4):
 * bounded, logged once per batch, and of its tunnel commands only the last one acted on.
 */
import type { Logger } from '../../log/logger.js';
import { decodeCommand } from '../../master/decoders.js';
import type { MasterCommand } from '../../domain/commands.js';
import {
  tunnelRestart,
  tunnelStart,
  tunnelStop,
  tunnelUpdateConfig,
  type TunnelKeeperMsg,
} from '../../messages/tunnel-keeper.js';
import { tell, type ActorRef } from '../../supervisor/actor-ref.js';
import type { LifecycleView } from '../../domain/lifecycle.js';
import type { DecommissionCommand } from './decommission.js';

/** Far above any real batch; a reply with more is junk, and the rest of it is not even decoded. */
export const MAX_BATCH = 100;

const TUNNEL_ACTIONS: ReadonlySet<string> = new Set(['start_tunnel', 'restart_tunnel', 'stop_tunnel']);

/**
 * Decodes and forwards one batch in order; one bad command never stops the rest (docs/protocol.md §4, A14). A
 * batch is bounded: past MAX_BATCH commands are dropped, malformed and unknown ones are logged once per batch with
 * a count, and of its tunnel commands only the last one is acted on (it decides the tunnel's state anyway; the
 * others would only recreate the container in between).
 */
export interface HandOffTargets {
  keeper: ActorRef<TunnelKeeperMsg>;
  /** Decommission commands go to the poller itself: they are re-served until acknowledged, never lost. */
  decommission: (cmd: DecommissionCommand) => void;
  /** While a decommission is under way only its own commands are obeyed (docs/protocol.md §13.11). */
  lifecycle: LifecycleView;
  learnSecret: (token: string) => void;
}

export function handOffCommands(
  raw: readonly unknown[],
  to: HandOffTargets,
  log: Logger,
): { forwarded: number; rejected: number } {
  if (raw.length > MAX_BATCH)
    log.warn({ event: 'commands_truncated', received: raw.length, kept: MAX_BATCH }, 'command batch truncated');
  const decoded: MasterCommand[] = [];
  const rejects: { index: number; reason: string }[] = [];
  for (const [index, item] of raw.slice(0, MAX_BATCH).entries()) {
    const one = decodeCommand(item);
    if (one.ok) decoded.push(one.value);
    else rejects.push({ index, reason: one.reason });
  }
  if (rejects.length > 0)
    log.error(
      { event: 'command_rejected', count: rejects.length, reason: rejects[0]?.reason, rejects: rejects.slice(0, 5) },
      'malformed commands skipped',
    );
  const unknown = decoded.flatMap((c) => (c.action === 'unknown' ? [c.name] : []));
  if (unknown.length > 0)
    log.warn(
      {
        event: 'command_ignored',
        count: unknown.length,
        action: unknown[0],
        actions: [...new Set(unknown)].slice(0, 5),
      },
      'unknown commands ignored',
    );
  const lastTunnel = decoded.findLastIndex((c) => TUNNEL_ACTIONS.has(c.action));
  const superseded = decoded.filter((c, i) => TUNNEL_ACTIONS.has(c.action) && i !== lastTunnel).length;
  if (superseded > 0)
    log.info({ event: 'commands_superseded', count: superseded }, 'earlier tunnel commands of the batch skipped');
  const lastDecommission = decoded.findLastIndex((c) => c.action === 'decommission');
  const decommissioning = to.lifecycle.lifecycle !== 'enrolled';
  const held = decommissioning ? decoded.filter((c) => c.action !== 'decommission' && c.action !== 'unknown') : [];
  if (held.length > 0)
    log.info(
      {
        event: 'commands_ignored_decommissioning',
        count: held.length,
        actions: [...new Set(held.map((c) => c.action))],
      },
      'decommissioning: commands ignored',
    );
  let forwarded = 0;
  let rejected = rejects.length;
  for (const [i, cmd] of decoded.entries()) {
    if (cmd.action === 'unknown' || (TUNNEL_ACTIONS.has(cmd.action) && i !== lastTunnel)) continue;
    if (cmd.action === 'decommission' ? i !== lastDecommission : decommissioning) continue;
    try {
      if (forward(cmd, to, log)) forwarded++;
    } catch (err) {
      rejected++;
      log.error({ event: 'command_rejected', count: 1, err }, 'command could not be handled; skipped');
    }
  }
  return { forwarded, rejected };
}

function forward(cmd: MasterCommand, to: HandOffTargets, log: Logger): boolean {
  switch (cmd.action) {
    case 'start_tunnel':
    case 'restart_tunnel': {
      // The redactor learns tunnel tokens here, from decoded commands only: never from whatever a reply carries.
      to.learnSecret(cmd.assignment.token);
      const { tunnelId, tunnelName } = cmd.assignment;
      log.info({ event: 'command_received', action: cmd.action, tunnelId, tunnelName }, 'command received');
      tell(to.keeper, (cmd.action === 'start_tunnel' ? tunnelStart : tunnelRestart)(cmd.assignment));
      return true;
    }
    case 'stop_tunnel':
      log.info({ event: 'command_received', action: cmd.action }, 'command received');
      tell(to.keeper, tunnelStop());
      return true;
    case 'update_tunnel_config':
      tell(to.keeper, tunnelUpdateConfig(cmd.ruleCount));
      return true;
    case 'decommission':
      to.decommission(cmd);
      return true;
    case 'unknown':
      return false;
  }
}
