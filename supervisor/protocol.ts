/** The supervisor's own protocol: reports from its children's incarnations and its restart timers. */
export type SupervisorMsg =
  | {
      readonly type: 'supervisor.child-down';
      readonly id: string;
      readonly gen: number;
      readonly reason: Error;
      readonly msgType: string | undefined;
      readonly repeat: boolean;
    }
  | {
      readonly type: 'supervisor.child-exit';
      readonly id: string;
      readonly gen: number;
      readonly restart: string | null;
    }
  | { readonly type: 'supervisor.restart-due'; readonly ids: readonly string[] }
  /** A child restarted in a crash loop has run for its backoff reset time: the loop is over. */
  | { readonly type: 'supervisor.child-stable'; readonly id: string; readonly gen: number }
  | { readonly type: 'supervisor.inject-crash'; readonly id: string; readonly reason: string };

export const childDown = (
  id: string,
  gen: number,
  reason: Error,
  msgType: string | undefined,
  repeat: boolean,
): SupervisorMsg => ({ type: 'supervisor.child-down', id, gen, reason, msgType, repeat });
export const childStable = (id: string, gen: number): SupervisorMsg => ({ type: 'supervisor.child-stable', id, gen });
export const childExit = (id: string, gen: number, restart: string | null): SupervisorMsg => ({
  type: 'supervisor.child-exit',
  id,
  gen,
  restart,
});
export const restartDue = (ids: readonly string[]): SupervisorMsg => ({ type: 'supervisor.restart-due', ids });
export const injectCrash = (id: string, reason: string): SupervisorMsg => ({
  type: 'supervisor.inject-crash',
  id,
  reason,
});
