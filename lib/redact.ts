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
  [/((?:\\?")(?:token|tunnel_token|api_key|apiKey|secret|client_secret|password|authorization|cf-access-client-secret)(?:\\?")\s*:\s*\\?")((?:[^"\\]|\\[^"])*)(\\?")/gi, `$1${REDACTED}$3`],
  // `--token X`, `--token=X`, and the same as adjacent JSON array items: `"--token","X"`.
  [/(--token(?:=|\s+|\\?",\s*\\?"))[^\s"',\\]+/g, `$1${REDACTED}`],
];

export class Redactor {
  private readonly secrets = new Set<string>();

  constructor(initial: Iterable<string | undefined> = []) {
    for (const s of initial) this.addSecret(s);
  }

  /** Registers a value that must never be written; call it as soon as a secret is learned (e.g. a tunnel token). */
  addSecret(value: string | undefined | null): void {
    if (typeof value !== 'string') return;
    const v = value.trim();
    if (v.length < MIN_SECRET_LENGTH) return;
    this.secrets.add(v);
    // The JSON-escaped form too, in case the secret carries characters JSON escapes.
    this.secrets.add(JSON.stringify(v).slice(1, -1));
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }
}
