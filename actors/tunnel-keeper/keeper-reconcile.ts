/**
 * The keeper's reconcile: bring Docker in line with the desired state (start, adopt, replace, stop), under the
 * keeper's turn, with Docker failures turned into a backoff. The commands on top of it are keeper-commands.ts.
 */
import { ensureTunnel, readVersion, tunnelWant } from './container.js';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import { failureDelay } from '../../supervisor/backoff.js';
import { tunnelCheck } from '../../messages/tunnel-keeper.js';
import { type TunnelKeeperState } from './keeper-state.js';
import { probationFor } from './probation.js';
import { noteRemoval } from './removal.js';
import { commandSteps } from './keeper-commands.js';

import { type ConfirmSteps } from './keeper-confirm.js';
import {
  FIRST_RETRY_MS,
  RESTARTING_CHECKS,
  RETRY_CAP_MS,
  type Ctx,
  type KeeperSteps,
  type TunnelKeeperDeps,
} from './keeper-steps.js';

export function reconcileSteps(deps: TunnelKeeperDeps, steps: KeeperSteps, confirm: ConfirmSteps) {
  const { publish, reconcileFailed, logRecovered } = steps;
  const { confirmOrWait, reviewProbation } = confirm;
  /** Brings Docker in line with the desired state; Docker failures become a backoff, not a crash. */
  const reconcile = async (
    current: TunnelKeeperState,
    ctx: Ctx,
    replace: boolean,
    cause: string,
  ): Promise<TunnelKeeperState> => {
    let s = current;
    const { tunnel } = s;
    let next: TunnelKeeperState;
    // Decommissioning: the container stays as the decommission left it; no check is scheduled again.
    if (deps.lifecycle.lifecycle !== 'enrolled') return s;
    try {
      if (tunnel.desired_state !== 'running' || tunnel.token === null || tunnel.id === null) {
        if (tunnel.desired_state === 'stopped' && (await deps.docker.inspectContainer(TUNNEL_CONTAINER))) {
          ctx.log.info(
            { event: 'tunnel_container_removing', why: 'desired state is stopped' },
            'removing an unwanted tunnel container',
          );
          noteRemoval(ctx.log, ctx.carried, await deps.docker.stopAndRemove(TUNNEL_CONTAINER, deps.stopTimeoutS));
        }
        next = { ...s, containerId: null, running: false, failures: 0, reportedId: null, probation: null };
      } else {
        if (!replace) {
          const reviewed = await reviewProbation(s, ctx);
          if (reviewed.done) return reviewed.state;
          s = reviewed.state;
        }
        const outcome = await ensureTunnel(
          deps.docker,
          tunnelWant(deps, { token: tunnel.token, id: tunnel.id, name: tunnel.name }),
          {
            replace,
            leaveRestarting: s.restartingChecks < RESTARTING_CHECKS,
            stopTimeoutS: deps.stopTimeoutS,
            log: ctx.log,
            onRemoval: (removal) => {
              noteRemoval(ctx.log, ctx.carried, removal);
            },
          },
        );
        if (outcome.kind === 'restarting') {
          if (s.restartingChecks === 0)
            ctx.log.info(
              { event: 'tunnel_restarting', containerId: outcome.containerId },
              'docker is restarting the tunnel container',
            );
          const delayMs = failureDelay(s.restartingChecks + 1, FIRST_RETRY_MS, RETRY_CAP_MS, deps.random());
          ctx.timers.once('check', delayMs, tunnelCheck());
          next = {
            ...s,
            containerId: outcome.containerId,
            running: false,
            probation: null,
            restartingChecks: s.restartingChecks + 1,
            backoffUntil: ctx.clock.monotonic() + delayMs,
          };
          publish(next);
          return next;
        }
        if (outcome.containerId !== s.reportedId) {
          // Not yet told to the master: a run of startConfirmMs first.
          const probation = probationFor(ctx.carried, {
            run: { containerId: outcome.containerId, startedAt: outcome.startedAt, restartCount: outcome.restartCount },
            created: outcome.kind === 'started',
            cause,
            now: ctx.clock.now(),
            firstLook: s.containerId === null,
          });
          const waiting = {
            ...s,
            containerId: outcome.containerId,
            running: false,
            probation,
            stoppedFromOutside: false,
            backoffUntil: null,
            lastEvent: null,
            restartingChecks: 0,
          };
          return await confirmOrWait(waiting, ctx, probation);
        }
        next = {
          ...s,
          containerId: outcome.containerId,
          running: true,
          version: s.version ?? (await readVersion(deps.docker, outcome.containerId)),
          lastEvent: null,
          restartingChecks: 0,
          failures: 0,
          lastFailure: null,
          backoffUntil: null,
        };
        logRecovered(s, ctx);
      }
      ctx.timers.once('check', deps.checkIntervalMs, tunnelCheck());
    } catch (err) {
      return reconcileFailed(s, ctx, err, 'tunnel reconcile failed');
    }
    publish(next);
    return next;
  };

  const takeDown = async (ctx: Ctx): Promise<void> => {
    noteRemoval(ctx.log, ctx.carried, await deps.docker.stopAndRemove(TUNNEL_CONTAINER, deps.stopTimeoutS));
  };
  return { reconcile, ...commandSteps(steps, reconcile, takeDown) };
}
