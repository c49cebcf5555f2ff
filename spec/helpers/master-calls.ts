/**
 * What the test master's own specs share: a master started per spec (stopped after it), a key, and the calls an
 * agent or an admin makes, over real HTTP.
 */
import {
  TestMaster,
  agentPaths,
  call,
  type CallOptions,
  type HttpResult,
  type MasterMode,
  type TestMasterOptions,
} from '../master/index.js';

export const ADMIN = 'test-master-admin-key';
export const ID_A = 'a'.repeat(64);
export const ID_B = 'b'.repeat(64);
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const managed = (id: string, extra: Record<string, string> = {}): Record<string, unknown> => ({
  id,
  name: `web-${id.slice(0, 4)}`,
  status: 'running',
  labels: { 'dockflare.enable': 'true', 'dockflare.hostname': 'web.example.com', ...extra },
});

/**
 * The calls of a spec against the master it started; `state` holds the spec's `master` and `key` variables (set by
 * `start`). Registers an afterEach that stops the master: call it inside a describe.
 */
export function masterCalls(state: {
  get: () => { master: TestMaster; key: string };
  set: (master: TestMaster, key: string) => void;
}) {
  const start = async (mode: MasterMode, opts: Omit<TestMasterOptions, 'mode'> = {}): Promise<void> => {
    const master = await TestMaster.start({ mode, ...opts });
    state.set(master, master.generateKey('spec'));
  };
  const req = (method: string, path: string, opts: CallOptions = {}): Promise<HttpResult> =>
    call(state.get().master.url, method, path, { key: state.get().key, ...opts });
  const register = (body: Record<string, unknown> = {}, k = state.get().key): Promise<HttpResult> =>
    req('POST', agentPaths.register, { key: k, body: { display_name: 'nas-01', version: '2.0.0', ...body } });
  const registerV2 = async (): Promise<{ id: string; session: string }> => {
    const res = await register({ supported_protocol_versions: [2, 1] });
    const body = res.json as { agent_id: string; agent_session_id: string };
    return { id: body.agent_id, session: body.agent_session_id };
  };
  const poll = (id: string, k = state.get().key): Promise<HttpResult> =>
    req('GET', agentPaths.commands(id), { key: k });
  const post = (id: string, body: unknown, k = state.get().key): Promise<HttpResult> =>
    req('POST', agentPaths.events(id), { key: k, body });
  const admin = (method: string, path: string, body?: unknown, k = ADMIN): Promise<HttpResult> =>
    call(state.get().master.url, method, `/api/v2/agents${path}`, { key: k, body });
  afterEach(async () => {
    await state.get().master.stop();
  });
  return { start, req, register, registerV2, poll, post, admin };
}
