// The protocol floor for a burst: what any agent that keeps the v2 rule "one event request in flight, in sequence
// order" pays on this machine. Its own process with the agent's node flags, it registers with its own test master,
// reads Docker's event stream as the bare subscriber does, and posts each start/die of an enabled container as
// container_start / container_stop, one at a time in arrival order, with the agent's HTTP client (node-fetch, a
// keep-alive agent). Nothing else: no inspect, no outbox, no actors, no logging. Plain JavaScript.
import http from 'node:http';
import fetch from 'node-fetch';
import { followContainerEvents } from './docker-events.mjs';

const [base, key] = [process.argv[2], process.argv[3]];
const agent = new http.Agent({ keepAlive: true, timeout: 60_000, maxFreeSockets: 2, scheduling: 'lifo' });
const headers = { Authorization: `Bearer ${key}`, Accept: 'application/json', 'Content-Type': 'application/json' };
const post = async (path, body) => {
  const res = await fetch(base + path, {
    method: 'POST',
    headers,
    agent,
    compress: false,
    redirect: 'manual',
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text };
};
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const reg = await post('/api/v2/agents/register', {
  display_name: 'bare-poster',
  version: '0',
  agent_version: '0',
  supported_protocol_versions: [2],
});
if (reg.status >= 300) {
  process.stderr.write(`bare poster: registration refused (${reg.status})\n`);
  process.exit(1);
}
const { agent_id: id, agent_session_id: session } = JSON.parse(reg.text);
const ENABLE = ['dockflare.enable', 'cloudflare.tunnel.enable'];
const TRUTHY = new Set(['true', '1', 'yes', 'on']);
const queue = [];
let sequence = 0;
let pumping = false;

async function pump() {
  if (pumping) return;
  pumping = true;
  while (queue.length > 0) {
    const body = queue[0];
    // A failed request is sent again with the same number, as the agent's would be.
    const ok = await post(`/api/v2/agents/${id}/events`, body).then(
      (r) => r.status < 300,
      () => false,
    );
    if (ok) queue.shift();
    // As the agent's would, a failure waits before the same event goes again.
    else await pause(100);
  }
  pumping = false;
}

function onEvent(e) {
  const attrs = e.Actor?.Attributes ?? {};
  if (!ENABLE.some((k) => TRUTHY.has(String(attrs[k] ?? '').toLowerCase()))) return;
  const labels = Object.fromEntries(Object.entries(attrs).filter(([k]) => k.includes('.')));
  queue.push({
    type: e.Action === 'start' ? 'container_start' : 'container_stop',
    protocol_version: 2,
    agent_id: id,
    agent_session_id: session,
    event_sequence: ++sequence,
    timestamp: new Date().toISOString().replace('Z', '000+00:00'),
    container: { id: e.Actor.ID, name: attrs.name ?? '', labels },
  });
  void pump();
}

followContainerEvents('bare poster', onEvent);
