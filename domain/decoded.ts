/**
 * The outcome of decoding input the agent does not control (a master reply, a state file): a value, or a reason
 * a person can read. Every boundary decodes into this instead of casting.
 */
import * as v from 'valibot';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A schema for input of unknown shape, decoding to T. */
export type Schema<T> = v.GenericSchema<unknown, T>;

const isMap = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
/** Valibot's object and record schemas take an array as an object of its indices: JSON's `[]` is not `{}` here. */
const MAP = v.custom<Record<string, unknown>>(isMap, 'expected object');

/** A JSON object with these entries (unknown keys dropped); never an array. */
export const jsonObject = <E extends v.ObjectEntries>(entries: E) => v.pipe(MAP, v.object(entries));
/** A JSON object with these entries, unknown keys kept; never an array. */
export const jsonLooseObject = <E extends v.ObjectEntries>(entries: E) => v.pipe(MAP, v.looseObject(entries));
/** A JSON object of string keys to `value`; never an array. */
export const jsonRecord = <T extends v.GenericSchema>(value: T) => v.pipe(MAP, v.record(v.string(), value));
/** A whole number within double precision: valibot's number() alone takes a fraction and JSON's 1e400 (Infinity). */
export const jsonInteger = v.pipe(v.number(), v.safeInteger());

/**
 * Valibot's own messages quote the input ("but received \"…\""), and a state file's field may be a token: a reason
 * says what was expected, never what was there. A schema's own message (`v.regex(re, 'not an id')`) wins.
 */
const PARSE = { abortEarly: true, message: (i: v.BaseIssue<unknown>) => `expected ${i.expected ?? i.type}` } as const;

/** `input` decoded with `schema`; a failure's reason is its first issue, as `path: message`. */
export function decodeWith<T>(schema: Schema<T>, input: unknown): Decoded<T> {
  const parsed = v.safeParse(schema, input, PARSE);
  if (parsed.success) return { ok: true, value: parsed.output };
  const issue = parsed.issues[0];
  return { ok: false, reason: `${v.getDotPath(issue) ?? '(root)'}: ${issue.message}` };
}

/**
 * Why a text is not JSON, without quoting it: V8's message can quote the text itself ("Unexpected token 'a', "…" is
 * not valid JSON"), and a state file's text may hold a token. Only the position is kept when V8 gives one.
 */
export function notJsonReason(err: unknown): string {
  const at = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
  return at === undefined ? 'not JSON' : `not JSON (at character ${at})`;
}
