/**
 * The outcome of decoding input the agent does not control (a master reply, a state file): a value, or a reason
 * a person can read. Every boundary decodes into this instead of casting.
 */
import type * as z from 'zod';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The first issue of a failed schema parse, as `path: message`. */
export function reasonOf(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
}

/**
 * Why a text is not JSON, without quoting it: V8's message can quote the text itself ("Unexpected token 'a', "…" is
 * not valid JSON"), and a state file's text may hold a token. Only the position is kept when V8 gives one.
 */
export function notJsonReason(err: unknown): string {
  const at = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
  return at === undefined ? 'not JSON' : `not JSON (at character ${at})`;
}
