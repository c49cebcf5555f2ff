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
