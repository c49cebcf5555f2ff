import { expect } from 'chai';
import { testDocker } from '../../helpers/docker.js';
import { absentOn404 } from '../../helpers/docker-fixtures.js';
import { exitWithin } from '../../helpers/docker-process.js';
import { useSpecSession } from '../../helpers/spec-session.js';
import { isSwarmManager, useSwarm } from '../../helpers/swarm.js';

const BRIDGE = 'dfa-not-overlay';

describe('swarm: DOCKER_MODE at start-up (agent processes, real engine)', function () {
  this.timeout(60_000);

  describe('on a standalone engine', () => {
    const harness = useSpecSession();

    it('DOCKER_MODE=swarm: exit 78 with one line saying why', async () => {
      expect(await isSwarmManager(testDocker()), 'the engine is standalone here').to.equal(false);
      await harness.master();
      const agent = await harness.process({ env: { DOCKER_MODE: 'swarm' } });
      const exit = await exitWithin(agent, 20_000, 'the agent exiting');
      expect(exit.code).to.equal(78);
      expect(agent.stderr().trimEnd().split('\n')).to.deep.equal([
        'dockflare-agent: configuration error: DOCKER_MODE=swarm, but this engine cannot serve a swarm: ' +
          'its swarm state is inactive',
      ]);
    });

    it('DOCKER_MODE=auto: standalone, with one info line saying why', async () => {
      await harness.master();
      const agent = await harness.agent({ env: { DOCKER_MODE: 'auto' } });
      await agent.registered();
      expect(agent.sink.events('docker_mode')).to.have.length(1);
      expect(agent.sink.events('docker_mode')[0]).to.include({ mode: 'standalone' });
      expect(agent.agent.healthReport().body).to.deep.include({ docker: { mode: 'standalone' } });
    });
  });

  describe('on a swarm manager', () => {
    const { docker, cleanup } = useSwarm();
    const harness = useSpecSession(async () => {
      await cleanup();
      await absentOn404(() => docker.getNetwork(BRIDGE).remove());
    });

    it('DOCKER_MODE=swarm and a tunnel network of that name that is not an attachable overlay: exit 78 naming it; auto serves the containers instead', async () => {
      await docker.createNetwork({ Name: BRIDGE, Driver: 'bridge' });
      await harness.master();
      const auto = await harness.agent({ env: { DOCKER_MODE: 'auto', CLOUDFLARED_NETWORK_NAME: BRIDGE } });
      await auto.registered();
      expect(auto.sink.events('docker_mode')[0]).to.include({ mode: 'standalone', network: BRIDGE });
      const agent = await harness.process({ env: { DOCKER_MODE: 'swarm', CLOUDFLARED_NETWORK_NAME: BRIDGE } });
      const exit = await exitWithin(agent, 20_000, 'the agent exiting');
      expect(exit.code).to.equal(78);
      expect(agent.stderr().trimEnd().split('\n')).to.deep.equal([
        `dockflare-agent: configuration error: CLOUDFLARED_NETWORK_NAME=${BRIDGE}: it is a bridge network of local ` +
          'scope; Swarm mode needs an attachable overlay network (or none of that name)',
      ]);
    });
  });
});
