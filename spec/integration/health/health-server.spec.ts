import { expect } from 'chai';
import type { InProcessAgent } from '../../helpers/agent-harness.js';
import { startAgentProcess } from '../../helpers/agent-process.js';
import { removeSpecContainers } from '../../helpers/docker-fixtures.js';
import { useSpecSession } from '../../helpers/spec-session.js';
import { injectCrash } from '../../../supervisor/protocol.js';
import { tell } from '../../../supervisor/actor-ref.js';
import { startHealthServer, type RunningHealthServer } from '../../../agent/health-server.js';

async function get(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* metrics are text */
  }
  return { status: res.status, json, text };
}

describe('health server, metrics and chaos endpoint', () => {
  let server: RunningHealthServer | undefined;
  const harness = useSpecSession(async () => {
    await server?.close();
    server = undefined;
    await removeSpecContainers();
  });

  const serve = async (a: InProcessAgent): Promise<number> => {
    server = await startHealthServer({
      port: 0,
      bindAddress: '127.0.0.1',
      log: a.sink.log,
      chaos: a.agent.chaos,
      health: () => a.agent.healthReport(),
      liveness: () => a.agent.livenessReport(),
      metrics: () => a.agent.metrics(),
      redact: (text) => a.sink.redactor.redact(text),
    });
    return server.port;
  };

  it('answers 503 unhealthy before any master contact, then 200 healthy once registered, with the docs/protocol.md §12 shape', async () => {
    const master = await harness.master();
    master.addFault({ endpoint: 'register', fault: { kind: 'status', status: 503 }, times: 1 });
    const agent = await harness.agent();
    const port = await serve(agent);
    const before = await get(port, '/health');
    expect(before.status).to.equal(503);
    expect(before.json.status).to.equal('unhealthy');
    expect(before.json.reasons).to.include('no successful contact with the master yet');
    const id = await agent.registered();
    await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);
    const after = await get(port, '/health');
    expect(after.status).to.equal(200);
    expect(after.json).to.include({ status: 'healthy', agent_id: id, registered: true });
    expect(after.json.tunnel).to.include({ state: 'unknown', container_running: false });
    expect(after.json.master_connection).to.include({ url: master.url });
    expect((after.json.master_connection as { seconds_since_contact: number }).seconds_since_contact).to.be.below(5);
    expect(after.json.threads).to.deep.equal({
      command_poller: 'running',
      reporter: 'running',
      event_watcher: 'running',
      tunnel_monitor: 'running',
      registration: 'running',
    });
    expect(JSON.stringify(after.json)).not.to.include(agent.config.master.apiKey);
    expect((await get(port, '/other')).status).to.equal(404);
  });

  it("never serves a secret that reached an error text (an actor's last crash reason)", async () => {
    await harness.master();
    const agent = await harness.agent();
    await agent.registered();
    const port = await serve(agent);
    const key = agent.config.master.apiKey;
    tell(agent.agent.cells.workers, injectCrash('reporter', `request failed with Authorization ${key}`));
    await agent.sink.waitFor((r) => r.event === 'actor_crashed' && r.actor === 'reporter');
    const res = await get(port, '/health');
    const crash = JSON.stringify(res.json).match(/request failed with Authorization [^"]*/)?.[0];
    expect(crash, 'the crash reason is served').to.equal('request failed with Authorization [REDACTED]');
  });

  it('is degraded while the tunnel should run but cannot (image missing), naming the reason', async () => {
    const master = await harness.master();
    const agent = await harness.agent({ env: { CLOUDFLARED_IMAGE: 'local/cloudflared:not-there' } });
    const id = await agent.registered();
    const port = await serve(agent);
    master.enroll(id, 'degraded');
    await agent.sink.waitFor((r) => r.event === 'tunnel_reconcile_failed', 10_000);
    const res = await get(port, '/health');
    expect(res.status).to.equal(503);
    expect(res.json.status).to.equal('degraded');
    expect(res.json.reasons).to.include('tunnel should run but its container is not running');
  });

  it('refuses chaos when chaos mode is off; with it on, kills through the real crash path and counts the restart in /metrics', async () => {
    await harness.master();
    let agent = await harness.agent();
    await agent.registered();
    let port = await serve(agent);
    expect((await get(port, '/chaos/kill/event-watcher', 'POST')).status).to.equal(403);
    await server!.close();
    server = undefined;
    await agent.stop();
    agent = await harness.agent({ env: { CHAOS_ENABLED: 'true', CHAOS_MEAN_INTERVAL_SECONDS: '3600' } });
    await agent.registered();
    port = await serve(agent);
    expect((await get(port, '/chaos/kill/nobody', 'POST')).status).to.equal(404);
    const kill = await get(port, '/chaos/kill/event-watcher', 'POST');
    expect(kill.status).to.equal(202);
    expect(kill.json).to.include({ status: 'killed', actor: 'event-watcher', gen: 1 });
    const crash = await agent.sink.waitFor((r) => r.event === 'actor_crashed' && r.actor === 'event-watcher', 5000);
    expect((crash.err as { name: string }).name).to.equal('InjectedCrash');
    expect(agent.sink.events('chaos_kill')[0]).to.include({ actor: 'event-watcher', gen: 1, origin: 'request' });
    await agent.sink.waitFor((r) => r.event === 'actor_started' && r.child === 'event-watcher' && r.gen === 2, 5000);
    const metrics = await get(port, '/metrics');
    expect(metrics.text).to.match(/^dockflare_agent_actor_restarts_total\{actor="event-watcher"\} 1$/m);
    expect(metrics.text).to.match(/^dockflare_agent_actor_restarts_total\{actor="tunnel-keeper"\} 0$/m);
    expect(metrics.text).to.match(/^dockflare_agent_master_requests_total \d+$/m);
    expect(metrics.text).to.include('# TYPE dockflare_agent_events_delivered_total counter');
  });

  it('healthcheck and chaos verbs of the CLI talk to a running agent process', async () => {
    const master = await harness.master();
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const proc = await harness.process({
      env: {
        HEALTH_CHECK_PORT: port,
        HEALTH_BIND_ADDRESS: '127.0.0.1',
        CHAOS_ENABLED: 'true',
        CHAOS_MEAN_INTERVAL_SECONDS: '3600',
      },
    });
    await proc.waitFor((r) => r.event === 'registered');
    await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);
    const hc = startAgentProcess(['healthcheck'], { HEALTH_CHECK_PORT: port });
    expect((await hc.exited).code).to.equal(0);
    const kill = startAgentProcess(['chaos', 'kill', 'reporter'], { HEALTH_CHECK_PORT: port });
    expect((await kill.exited).code).to.equal(0);
    await proc.waitFor((r) => r.event === 'actor_crashed' && r.actor === 'reporter');
    const nohc = startAgentProcess(['healthcheck'], { HEALTH_CHECK_PORT: '9' });
    expect((await nohc.exited).code).to.equal(1);
  });
});
