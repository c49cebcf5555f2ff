/** The project's test master: an imitation DockFlare master for integration specs and the demo. */
export { TestMaster } from './server.js';
export { MASTER_IDLE_CONNECTION_MS } from './http-io.js';
export { agentPaths, call, type CallOptions, type HttpResult } from './client.js';
export type {
  AcceptedEvent,
  AgentRecord,
  ContainerRecord,
  Endpoint,
  Fault,
  FaultEndpoint,
  FaultRule,
  MasterMode,
  RecordedRequest,
  TestMasterOptions,
} from './types.js';
