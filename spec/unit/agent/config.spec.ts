import { expect } from 'chai';
import { configError } from '../../helpers/config-error.js';
import { describeVariables, loadConfig } from '../../../agent/config/config.js';

const KEY = 'kq3Xr8mV1pZ0aB7cD9eF2gH4iJ6kL8mN0oP2qR4sT6u';
const base = { DOCKFLARE_MASTER_URL: 'https://dockflare.example.com', DOCKFLARE_API_KEY: KEY };

describe('agent/config/config', () => {
  it('reads DOCKER_MODE in any case and TUNNEL_REPLICAS; anything else names the variable', () => {
    expect(loadConfig({ ...base, DOCKER_MODE: ' Swarm ' }).docker.mode).to.equal('swarm');
    expect(loadConfig({ ...base, TUNNEL_REPLICAS: '3' }).tunnel.replicas).to.equal(3);
    expect(configError({ ...base, DOCKER_MODE: 'kubernetes' }).message).to.match(
      /^DOCKER_MODE: must be auto, standalone or swarm/,
    );
    expect(configError({ ...base, TUNNEL_REPLICAS: '0' }).message).to.match(/^TUNNEL_REPLICAS/);
  });

  it('applies the docs/protocol.md §9 defaults', () => {
    const c = loadConfig(base);
    expect(c.tunnel).to.deep.equal({
      image: 'cloudflare/cloudflared:2025.9.0',
      networkName: 'cloudflare-net',
      createNetwork: true,
      removeOnShutdown: true,
      checkIntervalMs: 30_000,
      startConfirmMs: 2000,
      replicas: 2,
    });
    expect(c.docker).to.deep.equal({ host: 'unix:///var/run/docker.sock', mode: 'auto' });
    expect(c.agent).to.deep.equal({
      displayName: undefined,
      dataDir: '/app/data',
      decommissionTombstonePath: '/app/data/decommission.json',
    });
    expect(c.intervals).to.deep.equal({
      reportMs: 30_000,
      heartbeatMs: 30_000,
      commandPollMs: 30_000,
      registerRetryMs: 60_000,
    });
    expect(c.master.requestTimeoutMs).to.equal(15_000);
    expect(c.health).to.deep.equal({ port: 8080, bindAddress: '0.0.0.0', masterContactMs: 120_000 });
    expect(c.log.level).to.equal('info');
    expect(c.access).to.equal(undefined);
    expect(c.supervision.root).to.deep.equal({ intensity: 5, periodMs: 60_000 });
    expect(c.supervision.workers).to.deep.equal({ intensity: 10, periodMs: 60_000 });
    expect(c.supervision.backoff['tunnel-keeper']).to.deep.equal({
      minMs: 2000,
      maxMs: 120_000,
      randomFactor: 0.2,
      resetAfterMs: 60_000,
    });
    expect(c.supervision.backoff.reporter).to.include({ minMs: 500, maxMs: 30_000 });
  });

  it('reads every variable it documents', () => {
    const c = loadConfig({
      ...base,
      DOCKFLARE_MASTER_URL: 'https://h.example.com/prefix///',
      CLOUDFLARED_IMAGE: 'cloudflare/cloudflared:latest',
      CLOUDFLARED_NETWORK_NAME: 'edge',
      DOCKER_HOST: 'tcp://docker-socket-proxy:2375',
      AGENT_DISPLAY_NAME: ' nas-01 ',
      LOG_LEVEL: 'DEBUG',
      REPORT_INTERVAL_SECONDS: '5',
      HEARTBEAT_INTERVAL_SECONDS: '45',
      TZ: 'Europe/Zurich',
      CF_ACCESS_CLIENT_ID: 'id.access',
      CF_ACCESS_CLIENT_SECRET: 'access-secret-value',
      HEALTH_CHECK_PORT: '0',
      DECOMMISSION_TOMBSTONE_PATH: '/var/lib/t.json',
      COMMAND_POLL_INTERVAL_SECONDS: '2.5',
      TUNNEL_CHECK_INTERVAL_SECONDS: '10',
      REGISTER_RETRY_SECONDS: '120',
      MASTER_REQUEST_TIMEOUT_SECONDS: '20',
      AGENT_DATA_DIR: '/data',
      AGENT_SUPERVISION_ROOT_INTENSITY: '7',
      AGENT_BACKOFF_EVENT_WATCHER_MIN_MS: '250',
      CLOUDFLARED_CREATE_NETWORK: 'false',
      TUNNEL_REMOVE_ON_SHUTDOWN: 'no',
    });
    expect(c.master.url).to.equal('https://h.example.com/prefix');
    expect(c.tunnel).to.include({
      image: 'cloudflare/cloudflared:latest',
      networkName: 'edge',
      createNetwork: false,
      removeOnShutdown: false,
      checkIntervalMs: 10_000,
    });
    expect(c.docker.host).to.equal('tcp://docker-socket-proxy:2375');
    expect(c.agent).to.deep.equal({
      displayName: 'nas-01',
      dataDir: '/data',
      decommissionTombstonePath: '/var/lib/t.json',
    });
    expect(c.log.level).to.equal('debug');
    expect(c.intervals).to.deep.equal({
      reportMs: 5000,
      heartbeatMs: 45_000,
      commandPollMs: 2500,
      registerRetryMs: 120_000,
    });
    expect(c.access).to.deep.equal({ clientId: 'id.access', clientSecret: 'access-secret-value' });
    expect(c.health.port).to.equal(0);
    expect(c.master.requestTimeoutMs).to.equal(20_000);
    expect(c.supervision.root.intensity).to.equal(7);
    expect(c.supervision.backoff['event-watcher'].minMs).to.equal(250);
  });

  it('documents every variable of docs/protocol.md §9', () => {
    const names = describeVariables().map((v) => v.env);
    for (const v of [
      'DOCKFLARE_MASTER_URL',
      'DOCKFLARE_API_KEY',
      'CLOUDFLARED_IMAGE',
      'CLOUDFLARED_NETWORK_NAME',
      'DOCKER_HOST',
      'AGENT_DISPLAY_NAME',
      'LOG_LEVEL',
      'REPORT_INTERVAL_SECONDS',
      'TZ',
      'CF_ACCESS_CLIENT_ID',
      'CF_ACCESS_CLIENT_SECRET',
      'HEALTH_CHECK_PORT',
      'DECOMMISSION_TOMBSTONE_PATH',
      'COMMAND_POLL_INTERVAL_SECONDS',
      'TUNNEL_CHECK_INTERVAL_SECONDS',
      'REGISTER_RETRY_SECONDS',
      'MASTER_REQUEST_TIMEOUT_SECONDS',
      'AGENT_DATA_DIR',
    ]) {
      expect(names, v).to.include(v);
    }
    expect(new Set(names).size).to.equal(names.length);
    expect(
      describeVariables()
        .filter((v) => v.sensitive)
        .map((v) => v.env),
    ).to.deep.equal(['DOCKFLARE_API_KEY', 'CF_ACCESS_CLIENT_SECRET']);
  });

  it('accepts log level names in any case, and the Python names of the original', () => {
    for (const [given, want] of [
      ['Warning', 'warn'],
      ['CRITICAL', 'fatal'],
      ['trace', 'trace'],
      ['ERROR', 'error'],
    ]) {
      expect(loadConfig({ ...base, LOG_LEVEL: given! }).log.level).to.equal(want);
    }
  });

  const bad: [string, Record<string, string>, string, RegExp][] = [
    ['missing master URL', { DOCKFLARE_API_KEY: KEY }, 'DOCKFLARE_MASTER_URL', /required/],
    ['missing key', { DOCKFLARE_MASTER_URL: 'https://m.example.com' }, 'DOCKFLARE_API_KEY', /required/],
    ['blank key', { ...base, DOCKFLARE_API_KEY: '   ' }, 'DOCKFLARE_API_KEY', /required/],
    ['malformed URL', { ...base, DOCKFLARE_MASTER_URL: 'not a url' }, 'DOCKFLARE_MASTER_URL', /valid URL/],
    ['non-http URL', { ...base, DOCKFLARE_MASTER_URL: 'ftp://m.example.com' }, 'DOCKFLARE_MASTER_URL', /http/],
    [
      'URL credentials',
      { ...base, DOCKFLARE_MASTER_URL: 'https://admin:pw@m.example.com' },
      'DOCKFLARE_MASTER_URL',
      /credentials/,
    ],
    ['non-numeric interval', { ...base, REPORT_INTERVAL_SECONDS: '30s' }, 'REPORT_INTERVAL_SECONDS', /number/],
    ['zero interval', { ...base, COMMAND_POLL_INTERVAL_SECONDS: '0' }, 'COMMAND_POLL_INTERVAL_SECONDS', /at least 1/],
    [
      'huge interval',
      { ...base, TUNNEL_CHECK_INTERVAL_SECONDS: '99999' },
      'TUNNEL_CHECK_INTERVAL_SECONDS',
      /at most 3600/,
    ],
    [
      'negative timeout',
      { ...base, MASTER_REQUEST_TIMEOUT_SECONDS: '-1' },
      'MASTER_REQUEST_TIMEOUT_SECONDS',
      /at least/,
    ],
    ['port out of range', { ...base, HEALTH_CHECK_PORT: '65536' }, 'HEALTH_CHECK_PORT', /at most 65535/],
    ['fractional port', { ...base, HEALTH_CHECK_PORT: '80.5' }, 'HEALTH_CHECK_PORT', /whole number/],
    [
      'invalid image',
      { ...base, CLOUDFLARED_IMAGE: 'Cloudflare/CLOUDFLARED:latest' },
      'CLOUDFLARED_IMAGE',
      /image reference/,
    ],
    [
      'short digest',
      { ...base, CLOUDFLARED_IMAGE: 'cloudflare/cloudflared@sha256:abc' },
      'CLOUDFLARED_IMAGE',
      /image reference/,
    ],
    ['unknown level', { ...base, LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /one of/],
    ['bad boolean', { ...base, CLOUDFLARED_CREATE_NETWORK: 'maybe' }, 'CLOUDFLARED_CREATE_NETWORK', /true or false/],
    ['bad docker host', { ...base, DOCKER_HOST: '/var/run/docker.sock' }, 'DOCKER_HOST', /unix:/],
    ['docker host port over 65535', { ...base, DOCKER_HOST: 'tcp://h:99999' }, 'DOCKER_HOST', /tcp:/],
    ['malformed IPv6 docker host', { ...base, DOCKER_HOST: 'tcp://[::::]:2375' }, 'DOCKER_HOST', /tcp:/],
    [
      'bad network',
      { ...base, CLOUDFLARED_NETWORK_NAME: 'no spaces allowed' },
      'CLOUDFLARED_NETWORK_NAME',
      /network name/,
    ],
    ['relative data dir', { ...base, AGENT_DATA_DIR: 'data' }, 'AGENT_DATA_DIR', /absolute/],
    ['control characters in TZ', { ...base, TZ: 'UTC\n' }, 'TZ', /control characters/],
    [
      'a bind address with a space',
      { ...base, HEALTH_BIND_ADDRESS: 'nonsense host' },
      'HEALTH_BIND_ADDRESS',
      /IP address or a host name/,
    ],
    [
      'a bare query mark on the URL',
      { ...base, DOCKFLARE_MASTER_URL: 'https://m.example.com/?' },
      'DOCKFLARE_MASTER_URL',
      /query or fragment/,
    ],
    [
      'a bare fragment mark on the URL',
      { ...base, DOCKFLARE_MASTER_URL: 'https://m.example.com#' },
      'DOCKFLARE_MASTER_URL',
      /query or fragment/,
    ],
    ['access id without secret', { ...base, CF_ACCESS_CLIENT_ID: 'x.access' }, 'CF_ACCESS_CLIENT_SECRET', /required/],
    ['access secret without id', { ...base, CF_ACCESS_CLIENT_SECRET: 'sssssssss' }, 'CF_ACCESS_CLIENT_ID', /required/],
    [
      'backoff max below min',
      { ...base, AGENT_BACKOFF_REPORTER_MIN_MS: '5000', AGENT_BACKOFF_REPORTER_MAX_MS: '100' },
      'AGENT_BACKOFF_REPORTER_MAX_MS',
      /below/,
    ],
  ];
  for (const [what, env, variable, reason] of bad) {
    it(`rejects ${what}, naming ${variable}`, () => {
      const err = configError(env);
      expect(err.variable).to.equal(variable);
      expect(err.reason).to.match(reason);
      expect(err.message.split('\n')).to.have.length(1);
      expect(err.message.startsWith(`${variable}: `)).to.equal(true);
    });
  }

  it('takes a variable set to nothing as its default, as the original did (LOG_LEVEL= in an .env file)', () => {
    const blank = {
      LOG_LEVEL: '',
      DOCKER_HOST: ' ',
      CLOUDFLARED_IMAGE: '',
      HEALTH_CHECK_PORT: '',
      CLOUDFLARED_NETWORK_NAME: '',
      REPORT_INTERVAL_SECONDS: '',
    };
    expect(loadConfig({ ...base, ...blank })).to.deep.equal(loadConfig(base));
    expect(configError({ ...base, DOCKFLARE_API_KEY: '' }).variable, 'one without a default is still missing').to.equal(
      'DOCKFLARE_API_KEY',
    );
  });

  it('accepts any TZ without control characters (the agent logs in UTC), POSIX rules included', () => {
    for (const tz of ['Europe/Berlin', 'UTC0', 'CET-1CEST,M3.5.0,M10.5.0/3', ':/etc/localtime', 'Mars/Olympus'])
      expect(() => loadConfig({ ...base, TZ: tz }), tz).not.to.throw();
  });

  it('accepts bind addresses: IPv4, IPv6 with or without brackets, host names', () => {
    for (const a of ['127.0.0.1', '::', 'localhost', 'agent.internal'])
      expect(loadConfig({ ...base, HEALTH_BIND_ADDRESS: a }).health.bindAddress, a).to.equal(a);
    expect(loadConfig({ ...base, HEALTH_BIND_ADDRESS: '[::1]' }).health.bindAddress, 'as listen() takes it').to.equal(
      '::1',
    );
  });

  it('accepts DOCKER_HOST forms docker-py accepted: tcp:// without a port, IPv6 literals', () => {
    for (const h of [
      'tcp://docker-socket-proxy',
      'tcp://[::1]:2375',
      'tcp://10.0.0.5:2375/',
      'unix:///run/user/1000/docker.sock',
    ]) {
      expect(loadConfig({ ...base, DOCKER_HOST: h }).docker.host, h).to.equal(h);
    }
  });

  it('trims paths: the data directory and the CA file', () => {
    expect(loadConfig({ ...base, AGENT_DATA_DIR: ' /app/data ' }).agent.dataDir).to.equal('/app/data');
    expect(loadConfig({ ...base, MASTER_CA_FILE: ' ' }).master.caFile).to.equal(undefined);
  });

  it('never puts a value in the error, so secrets and URL credentials stay out', () => {
    const secretUrl = 'ftp://admin:hunter2hunter2@m.example.com';
    const e1 = configError({ ...base, DOCKFLARE_MASTER_URL: secretUrl });
    expect(e1.message).not.to.include('hunter2');
    const e2 = configError({ ...base, REPORT_INTERVAL_SECONDS: 'oops-value' });
    expect(e2.message).not.to.include('oops-value');
    const e3 = configError({ ...base, CF_ACCESS_CLIENT_SECRET: 'top-secret-access' });
    expect(e3.message).not.to.include('top-secret-access');
    expect(e3.message).not.to.include(KEY);
  });
});
