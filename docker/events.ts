/**
 * One line of Docker's event stream (chunked NDJSON) decoded. The id comes from `Actor.ID`, falling back to the
 * legacy `id` that Engine API 1.52 no longer sends (docs/protocol.md §5.6, A4).
 */
import { StringDecoder } from 'node:string_decoder';
import * as v from 'valibot';
import { jsonInteger, jsonObject, jsonRecord } from '../domain/decoded.js';
import type { DockerEvent, DockerEventType } from '../domain/container.js';

const EventLine = jsonObject({
  Type: v.optional(v.string()),
  Action: v.optional(v.string()),
  status: v.optional(v.string()),
  id: v.optional(v.string()),
  Actor: v.optional(jsonObject({ ID: v.optional(v.string()), Attributes: v.optional(jsonRecord(v.string())) })),
  // Whole seconds: a fraction or 1e400 (Infinity) would make BigInt throw in the stream's listener (timeNano is read
  // from the line's text, digits only).
  time: v.optional(jsonInteger),
  timeNano: v.optional(v.number()),
});

export function parseEventLine(line: string): DockerEvent | null {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = v.safeParse(EventLine, raw, { abortEarly: true });
  if (!parsed.success) return null;
  const e = parsed.output;
  const type = e.Type ?? 'container';
  if (!FOLLOWED.has(type)) return null;
  const id = e.Actor?.ID ?? e.id;
  const action = e.Action ?? e.status;
  if (!id || !action) return null;
  // timeNano exceeds 2^53; JSON.parse loses precision, so re-read it from the text when present.
  const nano = /"timeNano"\s*:\s*(\d+)/.exec(line)?.[1];
  const timeNano = nano !== undefined ? BigInt(nano) : BigInt(e.time ?? 0) * 1_000_000_000n;
  const event = { action, id, attributes: e.Actor?.Attributes ?? {}, timeNano };
  return type === 'container' ? event : { type: type as DockerEventType, ...event };
}

const FOLLOWED: ReadonlySet<string> = new Set<DockerEventType>(['container', 'service', 'node']);

/** An event line longer than this is not one dockerd sends (labels included): the stream is broken. */
export const MAX_EVENT_LINE_CHARS = 1024 * 1024;

/**
 * Reads Docker's event stream: each complete line decoded and handed to `onEvent` (lines that are not container
 * events are skipped); the stream's end, error or close to `onEnd` with the reason. A line over the limit ends it
 * (`onEnd`, then `onOverflow` to close it).
 */
export function readEventStream(
  stream: NodeJS.ReadableStream,
  onEvent: (event: DockerEvent) => void,
  onEnd: (reason: string) => void,
  onOverflow: () => void,
): void {
  let buffer = '';
  // A character split across two chunks must not become two replacement characters (labels are UTF-8).
  const decoder = new StringDecoder('utf8');
  stream.on('data', (chunk: Buffer) => {
    buffer += decoder.write(chunk);
    if (buffer.length > MAX_EVENT_LINE_CHARS && !buffer.includes('\n')) {
      buffer = '';
      onEnd(`an event line over ${MAX_EVENT_LINE_CHARS} characters`);
      onOverflow();
      return;
    }
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line === '') continue;
      const event = parseEventLine(line);
      if (event) onEvent(event);
    }
  });
  // A stopped daemon ends the stream with an error ("aborted") and then close, never end.
  stream.on('error', (err: Error) => {
    onEnd(`error: ${err.message}`);
  });
  stream.on('end', () => {
    onEnd('ended');
  });
  stream.on('close', () => {
    onEnd('closed');
  });
}
