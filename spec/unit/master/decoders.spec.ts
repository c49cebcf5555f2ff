import { expect } from 'chai';
import { decodeCommand, decodeCommandsReply, decodeRegisterReply } from '../../../master/decoders.js';
import { buildEventBody, buildHeartbeat, buildStatusReport, masterTimestamp } from '../../../master/envelope.js';
import { reactionTo } from '../../../master/reaction.js';
import type { MasterFailure } from '../../../domain/master-result.js';
import { parseRetryAfter } from '../../../master/reply-status.js';

const ID = '3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12';

describe('master/decoders', () => {
  it('decodes a v2 registration', () => {
    expect(
      decodeRegisterReply({
        status: 'success',
        code: 'registered',
        agent_id: ID,
        protocol_version: 2,
        agent_session_id: 's'.repeat(43),
      }),
    ).to.deep.equal({
      ok: true,
      value: { agentId: ID, protocolVersion: 2, sessionId: 's'.repeat(43), enrollment: null },
    });
  });

  it('decodes a v1 registration (no protocol_version) and keeps the enrolment state it echoes', () => {
    expect(
      decodeRegisterReply({ status: 'success', agent_id: ID, agent: { status: 'pending', api_key: 'x' } }),
    ).to.deep.equal({ ok: true, value: { agentId: ID, protocolVersion: 1, sessionId: null, enrollment: 'pending' } });
  });

  const badRegister: [string, unknown][] = [
    ['no agent_id', { status: 'success' }],
    ['empty agent_id', { agent_id: '  ' }],
    ['numeric agent_id', { agent_id: 42 }],
    ['v2 without a session', { agent_id: ID, protocol_version: 2 }],
    ['v2 with an empty session', { agent_id: ID, protocol_version: 2, agent_session_id: '' }],
    ['an unknown protocol version', { agent_id: ID, protocol_version: 3, agent_session_id: 'x' }],
    ['a boolean protocol version', { agent_id: ID, protocol_version: true }],
    ['an array', [ID]],
    ['null', null],
  ];
  for (const [what, body] of badRegister) {
    it(`refuses a registration reply with ${what}`, () => {
      const r = decodeRegisterReply(body);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.reason).to.be.a('string').and.not.equal('');
    });
  }

  it('treats a missing or non-array command list as empty, with a warning', () => {
    expect(decodeCommandsReply({ status: 'success' })).to.deep.equal({
      commands: [],
      warning: 'reply has no commands field',
    });
    expect(decodeCommandsReply({ commands: 'x' }).warning).to.equal('commands is not an array');
    expect(decodeCommandsReply({ commands: [{ action: 'stop_tunnel' }] })).to.deep.equal({
      commands: [{ action: 'stop_tunnel' }],
      warning: null,
    });
  });

  it('accepts token and tunnel_token in both tunnel commands', () => {
    for (const action of ['start_tunnel', 'restart_tunnel']) {
      for (const field of ['token', 'tunnel_token']) {
        const r = decodeCommand({ action, tunnel_id: 'tid', tunnel_name: 'tn', [field]: ' tok ' });
        expect(r, `${action}/${field}`).to.deep.equal({
          ok: true,
          value: { action, assignment: { tunnelId: 'tid', tunnelName: 'tn', token: 'tok' } },
        });
      }
    }
  });

  it('takes the token field that holds a usable token when the other is empty or null', () => {
    const a = decodeCommand({
      action: 'start_tunnel',
      tunnel_id: 'tid',
      tunnel_name: 'tn',
      token: '',
      tunnel_token: 'good',
    });
    const b = decodeCommand({
      action: 'restart_tunnel',
      tunnel_id: 'tid',
      tunnel_name: 'tn',
      token: null,
      tunnel_token: 'good',
    });
    for (const r of [a, b]) expect(r.ok && 'assignment' in r.value ? r.value.assignment.token : r).to.equal('good');
  });

  const badCommands: [string, unknown, RegExp][] = [
    ['a non-object', 'start_tunnel', /not an object/],
    ['no action', { tunnel_id: 'x' }, /action/],
    ['an empty token', { action: 'start_tunnel', tunnel_id: 't', tunnel_name: 'n', token: '' }, /token is empty/],
    [
      'a numeric token',
      { action: 'restart_tunnel', tunnel_id: 't', tunnel_name: 'n', tunnel_token: 5 },
      /not a string/,
    ],
    ['a missing tunnel id', { action: 'restart_tunnel', tunnel_name: 'n', tunnel_token: 'x' }, /tunnel_id/],
  ];
  for (const [what, raw, reason] of badCommands) {
    it(`rejects a command with ${what}`, () => {
      const r = decodeCommand(raw);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.reason).to.match(reason);
    });
  }

  it('decodes the other actions', () => {
    expect(decodeCommand({ action: 'stop_tunnel' })).to.deep.equal({ ok: true, value: { action: 'stop_tunnel' } });
    expect(decodeCommand({ action: 'update_tunnel_config', rules: { a: 1, b: 2 } })).to.deep.equal({
      ok: true,
      value: { action: 'update_tunnel_config', ruleCount: 2 },
    });
    const prepare = {
      action: 'prepare_decommission',
      command_id: 'c1',
      operation_id: 'o1',
      requested_self_action: 'stop',
    };
    expect(decodeCommand(prepare)).to.deep.equal({
      ok: true,
      value: { action: 'decommission', phase: 'prepare', commandId: 'c1', operationId: 'o1' },
    });
    // As the upstream agent: no ids, or anything but a stop of the agent, is not acted on.
    for (const bad of [
      { ...prepare, requested_self_action: 'remove' },
      { ...prepare, command_id: '' },
      { ...prepare, operation_id: '../../x' },
      { ...prepare, operation_id: '..' },
      { ...prepare, command_id: '.' },
      { action: 'finalize_decommission', command_id: 'c2', requested_self_action: 'stop' },
    ])
      expect(decodeCommand(bad).ok, JSON.stringify(bad)).to.equal(false);
    expect(decodeCommand({ action: 'self_destruct' })).to.deep.equal({
      ok: true,
      value: { action: 'unknown', name: 'self_destruct' },
    });
  });
});

describe('master/envelope', () => {
  const v2 = { agentId: ID, protocolVersion: 2 as const, sessionId: 'sess' };
  const v1 = { agentId: ID, protocolVersion: 1 as const, sessionId: null };
  const container = { id: 'a'.repeat(64), name: 'whoami', status: 'running', labels: { 'dockflare.enable': 'true' } };
  const ts = masterTimestamp(Date.UTC(2026, 0, 15, 9, 30, 0, 123));

  it('formats timestamps as the original agent does', () => {
    expect(ts).to.equal('2026-01-15T09:30:00.123000+00:00');
  });

  it('builds v2 and v1 container events', () => {
    expect(buildEventBody(v2, { type: 'container_start', container, timestamp: ts }, 7)).to.deep.equal({
      type: 'container_start',
      protocol_version: 2,
      agent_session_id: 'sess',
      event_sequence: 7,
      timestamp: ts,
      container,
    });
    expect(buildEventBody(v1, { type: 'container_stop', container, timestamp: ts }, 7)).to.deep.equal({
      type: 'container_stop',
      timestamp: ts,
      container,
    });
  });

  it('puts tunnel_status fields at the top level (A9)', () => {
    const body = buildEventBody(
      v2,
      { type: 'tunnel_status', status: 'running', name: 'n', version: 'cloudflared version 1', timestamp: ts },
      3,
    );
    expect(body).to.include({
      type: 'tunnel_status',
      status: 'running',
      name: 'n',
      version: 'cloudflared version 1',
      event_sequence: 3,
    });
    expect(body).not.to.have.property('container');
  });

  it('reports a failed scan as incomplete without a list (v2) and not at all (v1)', () => {
    expect(buildStatusReport(v2, { ok: false, reason: 'x' }, 4, ts)).to.deep.equal({
      type: 'status_report',
      protocol_version: 2,
      agent_session_id: 'sess',
      report_sequence: 4,
      timestamp: ts,
      inventory_complete: false,
    });
    expect(buildStatusReport(v1, { ok: false, reason: 'x' }, 4, ts)).to.equal(null);
  });

  it('builds complete reports: v2 top level with scope, v1 nested under container', () => {
    expect(buildStatusReport(v2, { ok: true, containers: [container] }, 1, ts)).to.include({
      inventory_complete: true,
      inventory_scope: 'dockflare_enabled_running',
    });
    expect(buildStatusReport(v1, { ok: true, containers: [] }, 1, ts)).to.deep.equal({
      type: 'status_report',
      timestamp: ts,
      container: { containers: [] },
    });
  });

  it('adds health to a heartbeat only when given', () => {
    expect(buildHeartbeat(v2, 9, ts, undefined)).to.not.have.property('health');
    expect(buildHeartbeat(v2, 9, ts, { v: 1 }))
      .to.include({ event_sequence: 9 })
      .and.have.property('health');
  });
});

describe('master/reaction', () => {
  const fail = (failure: MasterFailure) => reactionTo({ ok: false, failure });
  it('maps every reply to the docs/protocol.md §5.2 reaction', () => {
    expect(reactionTo({ ok: true, status: 200, value: { code: 'accepted' } })).to.deep.equal({
      kind: 'delivered',
      duplicate: false,
    });
    expect(reactionTo({ ok: true, status: 200, value: { code: 'duplicate_sequence' } })).to.deep.equal({
      kind: 'delivered',
      duplicate: true,
    });
    expect(fail({ kind: 'transient', status: 503, retryAfterMs: 5000, reason: 'x' })).to.deep.equal({
      kind: 'retry',
      retryAfterMs: 5000,
    });
    expect(fail({ kind: 'registration_required', status: 409 })).to.deep.equal({
      kind: 'reregister_and_resend',
      cause: 'registration_required',
    });
    expect(fail({ kind: 'stale_sequence', status: 409 })).to.deep.equal({
      kind: 'drop',
      level: 'warn',
      reregister: 'stale_sequence',
    });
    expect(fail({ kind: 'forbidden', status: 403, code: null })).to.deep.equal({
      kind: 'drop',
      level: 'error',
      reregister: 'forbidden',
    });
    expect(fail({ kind: 'not_found', status: 404 })).to.deep.equal({
      kind: 'drop',
      level: 'error',
      reregister: 'events_not_found',
    });
    expect(fail({ kind: 'invalid', status: 400, code: 'invalid_payload', message: null })).to.deep.equal({
      kind: 'drop',
      level: 'error',
      reregister: null,
    });
    expect(fail({ kind: 'too_large', status: 413 })).to.deep.equal({ kind: 'drop', level: 'error', reregister: null });
    expect(fail({ kind: 'unauthorized', status: 401 })).to.deep.equal({
      kind: 'drop',
      level: 'error',
      reregister: null,
    });
  });

  it('parses Retry-After as seconds or a date, capped at 60 s', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter('5', now)).to.equal(5000);
    expect(parseRetryAfter('3600', now)).to.equal(60_000);
    expect(parseRetryAfter(new Date(now + 10_000).toUTCString(), now)).to.equal(10_000);
    expect(parseRetryAfter('soon', now)).to.equal(null);
    expect(parseRetryAfter(null, now)).to.equal(null);
  });
});
