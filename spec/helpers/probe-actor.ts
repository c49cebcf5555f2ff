import { tell, type ActorRef } from '../../supervisor/actor-ref.js';
import type { ActorDef } from '../../supervisor/child-spec.js';

/** A test actor whose every reaction is visible from outside: what it saw, in order, per incarnation. */
export type ProbeMsg =
  | { readonly type: 'probe.record'; readonly value: string }
  | { readonly type: 'probe.crash'; readonly why: string }
  | { readonly type: 'probe.hang'; readonly onAbort?: 'resolve' | 'reject' | 'ignore' }
  | { readonly type: 'probe.get'; readonly replyTo: ActorRef<ProbeState> }
  | { readonly type: 'probe.arm'; readonly delayMs: number; readonly value: string }
  | { readonly type: 'probe.exit' }
  | { readonly type: 'probe.restart' }
  | { readonly type: 'probe.pipe'; readonly work: Promise<string>; readonly mapError: boolean };

export interface ProbeState {
  readonly seen: readonly string[];
  readonly gen: number;
}

export interface ProbeJournal {
  readonly seen: string[];
  readonly inits: number[];
  readonly releases: string[];
  readonly shutdowns: string[];
}

export function newJournal(): ProbeJournal {
  return { seen: [], inits: [], releases: [], shutdowns: [] };
}

export function probeDef(
  name: string,
  journal: ProbeJournal,
  opts: { failInit?: () => boolean } = {},
): ActorDef<ProbeState, ProbeMsg> {
  return {
    init(ctx) {
      journal.inits.push(ctx.gen);
      if (opts.failInit?.()) throw new Error(`${name} init failed`);
      return { seen: [], gen: ctx.gen };
    },
    handlers: {
      'probe.record'(state, msg) {
        journal.seen.push(`${name}:${msg.value}`);
        return { ...state, seen: [...state.seen, msg.value] };
      },
      'probe.crash'(_state, msg) {
        throw new Error(msg.why);
      },
      'probe.hang'(state, msg, ctx) {
        // Never settles on its own; the abort of the incarnation ends it (resolved, or rejected as a call given
        // ctx.signal is), unless it ignores the abort as a Docker call that takes no signal does.
        const onAbort = msg.onAbort ?? 'resolve';
        return new Promise<ProbeState>((resolve, reject) => {
          if (onAbort === 'ignore') return;
          ctx.signal.addEventListener('abort', () => {
            if (onAbort === 'resolve') resolve(state);
            else reject(new Error('aborted'));
          });
        });
      },
      'probe.get'(state, msg) {
        tell(msg.replyTo, state);
        return state;
      },
      'probe.arm'(state, msg, ctx) {
        ctx.timers.once(`arm:${msg.value}`, msg.delayMs, { type: 'probe.record', value: msg.value });
        return state;
      },
      'probe.pipe'(state, msg, ctx) {
        ctx.pipe(
          msg.work,
          (value) => ({ type: 'probe.record', value: `ok:${value}` }),
          msg.mapError ? (err) => ({ type: 'probe.record', value: `err:${(err as Error).message}` }) : undefined,
        );
        return state;
      },
      'probe.restart'(state, _msg, ctx) {
        ctx.restartSelf('test asked');
        return state;
      },
      'probe.exit'(state, _msg, ctx) {
        ctx.stopSelf();
        return state;
      },
    },
    shutdown(_state, ctx) {
      journal.shutdowns.push(`${name}@${ctx.gen}`);
    },
    release(_state, ctx) {
      journal.releases.push(`${name}@${ctx.gen}`);
    },
  };
}
