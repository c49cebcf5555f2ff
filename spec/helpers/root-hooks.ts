/**
 * Mocha root hooks (.mocharc.json `require`). After the whole run, agent processes that a failed spec left running
 * are killed and counted: one would otherwise keep mocha, and CI with it, waiting for ever.
 */
import { killStrayAgentProcesses } from './agent-process.js';

export const mochaHooks = {
  afterAll(): void {
    const stray = killStrayAgentProcesses();
    if (stray > 0) console.error(`root hooks: killed ${stray} agent process(es) a spec left running`);
  },
};
