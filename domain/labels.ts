/**
 * The enable rule the master applies (docs/protocol.md §5.6): `dockflare.enable` or `cloudflare.tunnel.enable` is one
 * of true/1/t/yes in any case. Docker's own label filter is an exact match and would miss `True` or `yes`.
 */
export const LABEL_PREFIXES = ['dockflare.', 'cloudflare.tunnel.'] as const;
export const ENABLE_LABELS = ['dockflare.enable', 'cloudflare.tunnel.enable'] as const;
const TRUTHY = new Set(['true', '1', 't', 'yes']);

export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && TRUTHY.has(value.trim().toLowerCase());
}

export function isManaged(labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels !== undefined && ENABLE_LABELS.some((k) => isTruthy(labels[k]));
}

/** Only the labels the master reads: everything else stays on the host (the original forwarded all of them). */
export function filterLabels(labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (typeof v === 'string' && LABEL_PREFIXES.some((p) => k.startsWith(p))) out[k] = v;
  }
  return out;
}
