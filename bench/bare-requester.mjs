// The control for idle CPU: what the protocol's requests alone cost a node process on this machine. Run with the
// agent's node flags against the same test master, it registers once, then makes the idle agent's requests on its
// schedule with the agent's HTTP client (node-fetch, a keep-alive agent): every REPORT_MS a status report, preceded
// by a heartbeat when HEARTBEAT_MS (less half a report period) has passed since the last, every POLL_MS a command
// poll. Nothing else: no Docker, no actors, no logging. Plain JavaScript.
import http from 'node:http';
import fetch from 'node-fetch';

const [base, key, reportMs, pollMs, heartbeatMs] = [
  process.argv[2],
  process.argv[3],
  Number(process.argv[4]),
  Number(process.argv[5]),
  Number(process.argv[6]),
];
const agent = new http.Agent({ keepAlive: true, timeout: 60_000, maxFreeSockets: 2, scheduling: 'lifo' });
const headers = { Authorization: `Bearer ${key}`, Accept: 'application/json', 'Content-Type': 'application/json' };
const call = async (method, path, body) => {
  const res = await fetch(base + path, {
    method,
    headers,
    agent,
    compress: false,
    redirect: 'manual',
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return JSON.parse(await res.text());
};
// A failed request must not end the control: it is counted as made, as the agent's would be.
const tryCall = (method, path, body) => call(method, path, body).catch(() => undefined);
const reg = await call('POST', '/api/v2/agents/register', {
  display_name: 'bare-requester',
  version: '0',
  agent_version: '0',
  supported_protocol_versions: [2],
});
const id = reg.agent_id;
const session = reg.agent_session_id;
let event = 0;
let report = 0;
const envelope = (type, counter, seq) => ({
  type,
  protocol_version: 2,
  agent_id: id,
  agent_session_id: session,
  [counter]: seq,
  timestamp: new Date().toISOString().replace('Z', '000+00:00'),
});
let heartbeatAt = -Infinity;
setInterval(async () => {
  if (performance.now() - heartbeatAt >= heartbeatMs - reportMs / 2) {
    heartbeatAt = performance.now();
    await tryCall('POST', `/api/v2/agents/${id}/events`, envelope('heartbeat', 'event_sequence', ++event));
  }
  await tryCall('POST', `/api/v2/agents/${id}/events`, {
    ...envelope('status_report', 'report_sequence', ++report),
    inventory_complete: true,
    inventory_scope: 'dockflare_enabled_running',
    containers: [],
  });
}, reportMs);
setInterval(() => void tryCall('GET', `/api/v2/agents/${id}/commands`), pollMs);
process.stdout.write('ready\n');
