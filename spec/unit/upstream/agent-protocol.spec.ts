import { expect } from 'chai';
import { parseEventLine } from '../../../docker/events.js';
import type { ContainerInfo } from '../../../domain/container.js';
import { filterLabels, isManaged } from '../../../domain/labels.js';
import { buildEventBody, buildStatusReport } from '../../../master/envelope.js';
import { decodeRegisterReply } from '../../../master/decoders.js';
import { Outbox } from '../../../persistence/outbox.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

/**
 * The upstream agent's tests/test_agent_protocol.py, one spec per test, in our words and on our units. Where our
 * design differs (no inspect per event, destroy folded into the stop), the spec says so and checks what we do.
 */
const V2 = { agentId: 'agent-1', protocolVersion: 2 as const, sessionId: 'session-1' };
const ID = 'c'.repeat(64);
const labels = { 'dockflare.enable': 'true', 'dockflare.hostname': 'a.example.com', 'com.example.private': 'x' };
const line = (o: Record<string, unknown>): string => JSON.stringify(o);
const container = (id: string, l: Record<string, string>): ContainerInfo => ({
  id,
  name: `web-${id.slice(0, 4)}`,
  status: 'running',
  labels: filterLabels(l),
});

describe('upstream parity: test_agent_protocol.py', () => {
  it('registration_context_requires_v2_session_and_resets_sequences', async () => {
    const noSession = { status: 'success', code: 'registered', agent_id: 'agent-1', protocol_version: 2 };
    expect(decodeRegisterReply(noSession).ok, 'v2 without a session').to.equal(false);
    const outbox = await Outbox.open(null, 10, new LogSink().log, new ManualClock());
    outbox.nextEventNumber('session-1', null);
    outbox.nextReportNumber('session-1', null);
    expect([outbox.nextEventNumber('session-2', null), outbox.nextReportNumber('session-2', null)]).to.deep.equal([
      1, 1,
    ]);
  });

  it('inventory_is_complete_filtered_and_deduplicated_by_scan', () => {
    const running: { id: string; labels: Record<string, string> }[] = [
      { id: 'a'.repeat(64), labels: { ...labels, 'cloudflare.tunnel.enable': 'true' } },
      { id: 'b'.repeat(64), labels: { 'com.example': 'not ours' } },
      { id: 'd'.repeat(64), labels: { 'dockflare.enable': 'false' } },
    ];
    const scanned = running.filter((c) => isManaged(c.labels)).map((c) => container(c.id, c.labels));
    const report = buildStatusReport(V2, { ok: true, containers: scanned }, 1, 't')!;
    const listed = report.containers as { id: string; labels: Record<string, string> }[];
    expect(
      listed.map((c) => c.id),
      'one entry for a container with both enable labels',
    ).to.deep.equal(['a'.repeat(64)]);
    expect(Object.keys(listed[0]!.labels).sort()).to.deep.equal([
      'cloudflare.tunnel.enable',
      'dockflare.enable',
      'dockflare.hostname',
    ]);
    expect(report).to.include({ inventory_complete: true, inventory_scope: 'dockflare_enabled_running' });
  });

  it('inventory_scan_failure_sends_explicit_incomplete_report', () => {
    const report = buildStatusReport(V2, { ok: false, reason: 'docker down' }, 3, 't')!;
    expect(report).to.include({ inventory_complete: false, report_sequence: 3 });
    expect(report).not.to.have.property('containers');
  });

  it('status_report_uses_top_level_v2_shape', () => {
    const report = buildStatusReport(V2, { ok: true, containers: [container(ID, labels)] }, 1, 't')!;
    expect(report).to.include({ type: 'status_report', protocol_version: 2, agent_session_id: 'session-1' });
    expect(report).to.have.property('containers').that.has.length(1);
    expect(report).not.to.have.property('container');
  });

  it('event_filters_labels_and_allocates_sequence', async () => {
    const outbox = await Outbox.open(null, 10, new LogSink().log, new ManualClock());
    const seq = outbox.nextEventNumber('session-1', null);
    const body = buildEventBody(V2, { type: 'container_start', container: container(ID, labels), timestamp: 't' }, seq);
    expect(body.event_sequence).to.equal(1);
    expect((body.container as { labels: Record<string, string> }).labels).not.to.have.property('com.example.private');
  });

  it('docker_event_types_are_normalized (destroy: folded into the stop already told)', () => {
    // Start and the three stop actions are what the watcher subscribes to; a destroy after a die/stop tells nothing
    // new (checked against a real engine in spec/integration/docker-side/event-watcher.spec.ts).
    for (const action of ['start', 'die', 'stop', 'destroy'])
      expect(
        parseEventLine(line({ Type: 'container', Action: action, Actor: { ID: ID, Attributes: {} } }))?.action,
      ).to.equal(action);
    expect(parseEventLine(line({ Type: 'network', Action: 'connect', Actor: { ID: ID } })), 'not a container').to.equal(
      null,
    );
  });

  it('event_container_id_prefers_canonical_actor_shape', () => {
    expect(parseEventLine(line({ Action: 'start', Actor: { ID: ID }, id: 'x'.repeat(64) }))?.id).to.equal(ID);
    expect(parseEventLine(line({ status: 'start', id: ID }))?.id, 'the old shape').to.equal(ID);
    expect(parseEventLine(line({ Action: 'start', Actor: { Attributes: {} } })), 'no id').to.equal(null);
  });

  it('start_event_uses_actor_id (from the event itself: no inspect per event)', () => {
    const e = parseEventLine(
      line({ Type: 'container', Action: 'start', Actor: { ID: ID, Attributes: { ...labels, name: 'web' } } }),
    )!;
    expect(e.id).to.equal(ID);
    expect(filterLabels(e.attributes)).to.deep.equal({
      'dockflare.enable': 'true',
      'dockflare.hostname': 'a.example.com',
    });
  });

  it('stop_and_die_not_found_events_use_actor_fallback (the Actor attributes are all we use)', () => {
    // Upstream inspects and falls back to the Actor on a 404; we never inspect, so a container already gone is told
    // from its event's Actor, filtered, like any other.
    const e = parseEventLine(line({ Type: 'container', Action: 'die', Actor: { ID: ID, Attributes: labels } }))!;
    expect([e.action, e.id, isManaged(e.attributes)]).to.deep.equal(['die', ID, true]);
    expect(filterLabels(e.attributes)).not.to.have.property('com.example.private');
  });

  it('missing_event_id_is_ignored_without_payload_logging', () => {
    const secret = 'attribute-value-that-must-not-be-logged';
    expect(parseEventLine(line({ Type: 'container', Action: 'start', Actor: { Attributes: { x: secret } } }))).to.equal(
      null,
    );
    expect(parseEventLine('{not json')).to.equal(null);
  });
});
