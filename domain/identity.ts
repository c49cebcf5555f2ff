/** Who the agent is to the master (docs/protocol.md §3), and why it must register again (§3.4). */
export interface Identity {
  readonly agentId: string;
  readonly protocolVersion: 1 | 2;
  /** Present under protocol v2 only. */
  readonly sessionId: string | null;
}

export type ReregisterCause =
  'commands_not_found' | 'registration_required' | 'forbidden' | 'stale_sequence' | 'events_not_found';

export interface RegisterReply {
  agentId: string;
  protocolVersion: 1 | 2;
  sessionId: string | null;
  /** `pending`/`enrolled` when the master says (v1 echoes the record), else null. */
  enrollment: string | null;
}
