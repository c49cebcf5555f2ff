/**
 * One line of Docker's event stream (chunked NDJSON) decoded. The id comes from `Actor.ID`, falling back to the
 * legacy `id` that Engine API 1.52 no longer sends (docs/protocol.md §5.6, A4).
 */
import * as z from 'zod';
import type { DockerEvent } from '../domain/container.js';

const EventLine = z.object({
  Type: z.string().optional(),
  Action: z.string().optional(),
  status: z.string().optional(),
  id: z.string().optional(),
  Actor: z.object({ ID: z.string().optional(), Attributes: z.record(z.string(), z.string()).optional() }).optional(),
  time: z.number().optional(),
  timeNano: z.number().optional(),
});

export function parseEventLine(line: string): DockerEvent | null {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = EventLine.safeParse(raw);
  if (!parsed.success) return null;
  const e = parsed.data;
  if (e.Type !== undefined && e.Type !== 'container') return null;
  const id = e.Actor?.ID ?? e.id;
  const action = e.Action ?? e.status;
  if (!id || !action) return null;
  // timeNano exceeds 2^53; JSON.parse loses precision, so re-read it from the text when present.
  const nano = /"timeNano"\s*:\s*(\d+)/.exec(line)?.[1];
  const timeNano = nano !== undefined ? BigInt(nano) : BigInt(e.time ?? 0) * 1_000_000_000n;
  return { action, id, attributes: e.Actor?.Attributes ?? {}, timeNano };
}
