/** Who the agent is to the master (docs/protocol.md §3), and why it must register again (§3.4). */
export interface Identity {
  readonly agentId: string;
  readonly protocolVersion: 1 | 2;
  /** Present under protocol v2 only. */
  readonly sessionId: string | null;
}

export type ReregisterCause =
  | 'commands_not_found'
  | 'registration_required'
  | 'forbidden'
  | 'stale_sequence'
  | 'events_not_found'
  /** A v1 session's replies carry v2's `code`: the master was upgraded and can negotiate v2. */
  | 'protocol_upgrade'
  /** A v2 session's replies lost their `code`: the master was downgraded to v1. */
  | 'protocol_downgrade';

export interface RegisterReply {
  agentId: string;
  protocolVersion: 1 | 2;
  sessionId: string | null;
  /** `pending`/`enrolled` when the master says (v1 echoes the record), else null. */
  enrollment: string | null;
}

/** The longest agent id the agent keeps (agent_id.txt) or puts in a URL path. */
export const MAX_AGENT_ID_LENGTH = 1024;

/** C0 and C1 control characters, and U+FFFD, which reading bytes that are not UTF-8 produces. */
const notInAnId = (c: number): boolean => c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0xfffd;

/**
 * Why `id` (already trimmed) cannot be an agent id, or null if it can. The original stores whatever id it generated
 * or a v1 master gave it (any UTF-8), so only what no program writes as an id is refused: control characters, bytes
 * that are not UTF-8, a size no id has, and what would be a path segment of its own in the master's URLs. The one
 * rule for what the master hands out and for what agent_id.txt holds.
 */
export function agentIdProblem(id: string): string | null {
  if (id === '') return 'empty';
  if (id.length > MAX_AGENT_ID_LENGTH) return `over ${MAX_AGENT_ID_LENGTH} characters`;
  if (Array.from(id, (ch) => ch.codePointAt(0) ?? 0).some(notInAnId))
    return 'control characters or bytes that are not UTF-8';
  if (id === '.' || id === '..' || /[/\\]/.test(id)) return 'a path segment or separator';
  return null;
}
