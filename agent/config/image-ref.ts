/**
 * CLOUDFLARED_IMAGE sanitising (docs/protocol.md §7.1): trim, first whitespace-separated token, drop from the first
 * `#`, then accept `repo[:tag]` or `repo@sha256:<64 hex>` (digest lower-cased). Returns undefined when invalid;
 * the config layer turns that into a start-up error rather than silently using the default.
 */
const REPO = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const REGISTRY =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:([0-9a-fA-F]{64})$/;

export function sanitizeImageRef(raw: string): string | undefined {
  const token = raw.trim().split(/\s+/)[0] ?? '';
  const ref = token.split('#')[0] ?? '';
  if (ref === '') return undefined;
  const at = ref.indexOf('@');
  if (at >= 0) {
    const name = ref.slice(0, at);
    const digest = DIGEST.exec(ref.slice(at + 1));
    if (!digest?.[1] || !validName(name)) return undefined;
    return `${name}@sha256:${digest[1].toLowerCase()}`;
  }
  const { name, tag } = splitTag(ref);
  if (!validName(name) || (tag !== undefined && !TAG.test(tag))) return undefined;
  return ref;
}

/** Splits `repo[:tag]`, where a colon inside the registry part (`host:5000/repo`) is a port, not a tag. */
export function splitTag(ref: string): { name: string; tag: string | undefined } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: undefined };
}

function validName(name: string): boolean {
  const parts = name.split('/');
  const first = parts[0] ?? '';
  // A first component with a dot, a colon or "localhost" is a registry host (Docker's own rule).
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    return REGISTRY.test(first) && REPO.test(parts.slice(1).join('/'));
  }
  return REPO.test(name);
}
