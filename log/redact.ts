/**
 * Secret scrubbing. Known secret values (API key, Access secret, every tunnel token the agent has seen) are
 * replaced wherever they occur, and well-known carriers of secrets (Bearer headers, URL credentials,
 * TUNNEL_TOKEN=, token-like JSON fields) are masked even when the value is not known yet.
 */
export const REDACTED = '[REDACTED]';

/** Shorter values are not scrubbed by value: masking every "abc" would shred the logs. Real keys are 43 chars. */
const MIN_SECRET_LENGTH = 6;

const PATTERNS: readonly [RegExp, string][] = [
  [/(\bbearer\s+)[^\s"',;\\]+/gi, `$1${REDACTED}`],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@"'\\]+@/gi, `$1${REDACTED}@`],
  [/(\bTUNNEL_TOKEN=)[^\s"',\\]+/g, `$1${REDACTED}`],
  [
    /((?:\\?")(?:token|tunnel_token|api_key|apiKey|secret|client_secret|password|authorization|cf-access-client-secret)(?:\\?")\s*:\s*\\?")((?:[^"\\]|\\[^"])*)(\\?")/gi,
    `$1${REDACTED}$3`,
  ],
  // `--token X`, `--token=X`, and the same as adjacent JSON array items: `"--token","X"`.
  [/(--token(?:=|\s+|\\?",\s*\\?"))[^\s"',\\]+/g, `$1${REDACTED}`],
];

/**
 * How many learned values (tunnel tokens, secrets echoed in replies) are kept. A master that hands out a new token
 * per reply must not grow the set, and every log line's cost with it, for months; the ones in use are learned again
 * whenever they are read or received, which keeps them among the newest.
 */
export const MAX_LEARNED_SECRETS = 64;

export class Redactor {
  /** Given at start (the API key, the Access secret): kept for the whole run. Value → its JSON-escaped form. */
  private readonly pinned = new Map<string, string>();
  /** Learned since, oldest first (a Map keeps insertion order): at most MAX_LEARNED_SECRETS values. */
  private readonly learned = new Map<string, string>();
  /**
   * Both sets, longest first, built when next needed: a secret that is part of another (a key file caught half
   * written, then the whole key) must not be replaced first, or what remains of the longer one is written.
   */
  private order: (readonly [string, string])[] | null = null;

  constructor(initial: Iterable<string | undefined> = []) {
    for (const s of initial) {
      const v = usable(s);
      if (v !== null) this.pinned.set(v, jsonEscaped(v));
    }
  }

  /**
   * Registers a tunnel token that must never be written, as soon as it is known. Only a token-shaped value is taken:
   * a value that could stand for a piece of a log line (`"level":30`, a field name) would break every later line.
   */
  addSecret(value: string | undefined | null): void {
    const v = usable(value);
    if (v === null || !isTokenShaped(v) || this.pinned.has(v)) return;
    // Learned again: now the newest.
    this.learned.delete(v);
    this.learned.set(v, jsonEscaped(v));
    this.order = null;
    for (const oldest of this.learned.keys()) {
      if (this.learned.size <= MAX_LEARNED_SECRETS) break;
      this.learned.delete(oldest);
    }
  }

  /** A configured secret that arrives later (a key read again from its file): kept for the whole run. */
  pin(value: string): void {
    const v = usable(value);
    if (v === null) return;
    this.pinned.set(v, jsonEscaped(v));
    this.order = null;
  }

  /** How many values are scrubbed by value (for specs and the bound). */
  get size(): number {
    return this.pinned.size + this.learned.size;
  }

  redact(text: string): string {
    let out = text;
    this.order ??= [...this.pinned, ...this.learned].sort((a, b) => b[0].length - a[0].length);
    for (const [secret, escaped] of this.order) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
      // The JSON-escaped form too, in case the secret carries characters JSON escapes.
      if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join(REDACTED);
    }
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }
}

const jsonEscaped = (v: string): string => JSON.stringify(v).slice(1, -1);

/**
 * A tunnel token as Cloudflare issues them (base64 of a JSON object, 180 characters and more) or any other opaque
 * credential: 20 characters or more, only those of base64, base64url and JWTs. Nothing a log line's structure is made
 * of (quotes, colons, braces, spaces), and longer than the field names and short values the agent logs.
 */
export function isTokenShaped(v: string): boolean {
  return /^[A-Za-z0-9+/=_.-]{20,16384}$/.test(v);
}

/** The value to scrub, trimmed; null for non-strings and values too short to scrub by value. */
function usable(value: string | undefined | null): string | null {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  return v.length < MIN_SECRET_LENGTH ? null : v;
}
