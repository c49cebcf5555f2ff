/**
 * The one configuration schema (docs/architecture.md §4.8). Names follow docs/protocol.md §9; additions carry their
 * unit in the name. Only agent/main.ts loads it; actors receive the typed slices of agent/config/config.ts.
 */
import { runtimeSchema, seconds } from './schema-runtime.js';

export const schema = {
  master: {
    url: {
      doc: 'DockFlare Master base URL (http:// or https://, path prefix allowed).',
      format: 'master-url',
      default: '',
      env: 'DOCKFLARE_MASTER_URL',
    },
    apiKey: {
      doc: 'Agent key issued by the master (secret).',
      format: 'required-string',
      default: '',
      env: 'DOCKFLARE_API_KEY',
      sensitive: true,
    },
    apiKeyFile: {
      doc: 'File holding the agent key instead (a Docker or Swarm secret); read again when the master refuses the key.',
      format: 'optional-string',
      default: '',
      env: 'DOCKFLARE_API_KEY_FILE',
    },
    requestTimeoutSeconds: seconds(
      'Timeout of one master request, connect plus body (s).',
      'MASTER_REQUEST_TIMEOUT_SECONDS',
      15,
      1,
      300,
    ),
    caFile: {
      doc: 'PEM bundle of extra CAs trusted for the master (private CA).',
      format: 'optional-absolute-path',
      default: '',
      env: 'MASTER_CA_FILE',
    },
  },
  access: {
    clientId: {
      doc: 'Cloudflare Access service token id, sent when both Access variables are set.',
      format: 'optional-string',
      default: '',
      env: 'CF_ACCESS_CLIENT_ID',
    },
    clientSecret: {
      doc: 'Cloudflare Access service token secret (secret).',
      format: 'optional-string',
      default: '',
      env: 'CF_ACCESS_CLIENT_SECRET',
      sensitive: true,
    },
    clientSecretFile: {
      doc: 'File holding the Cloudflare Access secret instead (a Docker or Swarm secret).',
      format: 'optional-string',
      default: '',
      env: 'CF_ACCESS_CLIENT_SECRET_FILE',
    },
  },
  agent: {
    displayName: {
      doc: 'Name shown on the master; default agent-<first 8 chars of id>.',
      format: 'optional-string',
      default: '',
      env: 'AGENT_DISPLAY_NAME',
    },
    dataDir: {
      doc: 'Directory of agent_id.txt and tunnel_state.json.',
      format: 'absolute-path',
      default: '/app/data',
      env: 'AGENT_DATA_DIR',
    },
    decommissionTombstonePath: {
      doc: 'Decommission tombstone; default <data dir>/decommission.json.',
      format: 'optional-absolute-path',
      default: '',
      env: 'DECOMMISSION_TOMBSTONE_PATH',
    },
  },
  tunnel: {
    image: {
      doc: 'cloudflared image (repo[:tag] or repo@sha256:digest).',
      format: 'image-ref',
      default: 'cloudflare/cloudflared:2025.9.0',
      env: 'CLOUDFLARED_IMAGE',
    },
    networkName: {
      doc: 'Docker network shared by cloudflared and the managed containers (Swarm mode: an attachable overlay).',
      format: 'network-name',
      default: 'cloudflare-net',
      env: 'CLOUDFLARED_NETWORK_NAME',
    },
    createNetwork: {
      doc: 'Create the network when it is missing (a bridge; in Swarm mode an attachable overlay).',
      format: 'strict-boolean',
      default: true,
      env: 'CLOUDFLARED_CREATE_NETWORK',
    },
    removeOnShutdown: {
      doc: 'Stop and remove the tunnel container (Swarm mode: service) when the agent shuts down.',
      format: 'strict-boolean',
      default: true,
      env: 'TUNNEL_REMOVE_ON_SHUTDOWN',
    },
    checkIntervalSeconds: seconds(
      'Period of the tunnel container check (s).',
      'TUNNEL_CHECK_INTERVAL_SECONDS',
      30,
      1,
      3600,
    ),
    startConfirmMs: {
      doc: 'How long a new tunnel container must stay up before it is reported running (ms).',
      format: 'strict-int',
      min: 0,
      max: 60000,
      default: 2000,
      env: 'TUNNEL_START_CONFIRM_MS',
    },
    replicas: {
      doc: 'Swarm mode: cloudflared tasks (connectors of the one tunnel) the tunnel service runs.',
      format: 'strict-int',
      min: 1,
      max: 64,
      default: 2,
      env: 'TUNNEL_REPLICAS',
    },
  },
  docker: {
    host: {
      doc: 'Docker Engine address.',
      format: 'docker-host',
      default: 'unix:///var/run/docker.sock',
      env: 'DOCKER_HOST',
    },
    mode: {
      doc: 'auto (Swarm mode on an active Swarm manager, else standalone), standalone, or swarm.',
      format: 'docker-mode',
      default: 'auto',
      env: 'DOCKER_MODE',
    },
  },
  intervals: {
    reportSeconds: seconds('Status report period (s).', 'REPORT_INTERVAL_SECONDS', 30, 1, 3600),
    heartbeatSeconds: seconds(
      "Least time between two heartbeats (s); each goes with a report tick. Keep it under the master's 60 s window.",
      'HEARTBEAT_INTERVAL_SECONDS',
      30,
      1,
      3600,
    ),
    commandPollSeconds: seconds(
      "Command poll period (s); keep it under the master's 60 s online window.",
      'COMMAND_POLL_INTERVAL_SECONDS',
      30,
      1,
      3600,
    ),
    registerRetrySeconds: seconds('Cap of the registration retry backoff (s).', 'REGISTER_RETRY_SECONDS', 60, 1, 3600),
  },
  heartbeat: {
    includeHealth: {
      doc: 'Add the supervision health snapshot to heartbeats under `health`.',
      format: 'strict-boolean',
      default: true,
      env: 'HEARTBEAT_INCLUDE_HEALTH',
    },
  },
  health: {
    port: {
      doc: 'Port of the /health server; 0 turns it off.',
      format: 'strict-int',
      min: 0,
      max: 65535,
      default: 8080,
      env: 'HEALTH_CHECK_PORT',
    },
    masterContactSeconds: seconds(
      '/health says degraded after this long without master contact, unhealthy after 2.5 times it (s).',
      'HEALTH_MASTER_CONTACT_SECONDS',
      120,
      5,
      86400,
    ),
    bindAddress: {
      doc: 'Address the /health server binds to.',
      format: 'bind-address',
      default: '0.0.0.0',
      env: 'HEALTH_BIND_ADDRESS',
    },
  },
  log: {
    healthIntervalSeconds: seconds(
      'Period of the `health` log record with the supervision snapshot (s).',
      'LOG_HEALTH_INTERVAL_SECONDS',
      300,
      1,
      86400,
    ),
    level: {
      doc: 'Log level: trace, debug, info, warn, error, fatal (any case; WARNING and CRITICAL accepted).',
      format: 'log-level',
      default: 'info',
      env: 'LOG_LEVEL',
    },
    timeZone: {
      doc: 'Accepted for compatibility; log times are always UTC ISO-8601.',
      format: 'time-zone',
      default: '',
      env: 'TZ',
    },
  },
  ...runtimeSchema,
} as const;
