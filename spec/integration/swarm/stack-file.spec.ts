import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { pollUntil } from '../../helpers/docker-fixtures.js';
import { useSwarm } from '../../helpers/swarm.js';

const run = promisify(execFile);
const STACK = 'dfa-stack-spec';

interface Spec {
  Spec: {
    Mode: { Replicated?: { Replicas?: number } };
    UpdateConfig?: { Order?: string };
    TaskTemplate: {
      Placement?: { Constraints?: string[] };
      Networks?: { Target: string }[];
      ContainerSpec: {
        Env?: string[];
        ReadOnly?: boolean;
        CapabilityDrop?: string[];
        Ulimits?: { Name: string; Hard: number; Soft: number }[];
        Secrets?: { SecretName: string; File: { UID: string; Mode: number } }[];
      };
    };
  };
}

describe('swarm: docker-stack.yml deployed by the Docker CLI on a real swarm', function () {
  this.timeout(60_000);
  const { docker } = useSwarm();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    DOCKER_HOST: process.env.DOCKER_HOST ?? '',
    DOCKFLARE_MASTER_URL: 'https://dockflare.example.com',
  };

  async function removeStack(): Promise<void> {
    await run('docker', ['stack', 'rm', STACK], { env }).catch(() => undefined);
    await pollUntil(async () => (await docker.listServices()).length === 0, 20_000, 'the stack removed');
    await docker
      .getSecret('dockflare_api_key')
      .remove()
      .catch(() => undefined);
    await docker
      .getNetwork('cloudflare-net')
      .remove()
      .catch(() => undefined);
  }

  it('deploys: one agent on a manager, stop-first updates, the key as a secret only its user reads, hardened; a proxy that allows what Swarm mode needs', async () => {
    try {
      await deployAndCheck();
    } finally {
      await removeStack();
    }
  });

  async function deployAndCheck(): Promise<void> {
    await docker.createSecret({ Name: 'dockflare_api_key', Data: Buffer.from('not-a-real-key').toString('base64') });
    // The images are not here (no registry): the stack's services are what Docker made of the file.
    await docker.createNetwork({ Name: 'cloudflare-net', Driver: 'overlay', Attachable: true });
    await run('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', 'docker-stack.yml', STACK], { env });
    const agent = (await docker.getService(`${STACK}_dockflare-agent`).inspect()) as Spec;
    const spec = agent.Spec;
    expect(spec.Mode.Replicated?.Replicas).to.equal(1);
    expect(spec.UpdateConfig?.Order).to.equal('stop-first');
    expect(spec.TaskTemplate.Placement?.Constraints).to.deep.equal(['node.role == manager']);
    const c = spec.TaskTemplate.ContainerSpec;
    expect(c.Env).to.include.members(['DOCKER_MODE=swarm', 'DOCKFLARE_API_KEY_FILE=/run/secrets/dockflare_api_key']);
    expect(c.Env!.join('\n')).not.to.match(/DOCKFLARE_API_KEY=/);
    expect(c.ReadOnly).to.equal(true);
    expect(c.CapabilityDrop).to.deep.equal(['ALL']);
    expect(c.Ulimits, 'no core dump: it would hold the key and the token').to.deep.equal([
      { Name: 'core', Hard: 0, Soft: 0 },
    ]);
    // A way out to the master: the agent is on a network that is not internal (the tunnel's).
    const nets = await Promise.all(
      (spec.TaskTemplate.Networks ?? []).map(
        async (n) => (await docker.getNetwork(n.Target).inspect()) as { Name: string; Internal: boolean },
      ),
    );
    expect(nets.filter((n) => !n.Internal).map((n) => n.Name)).to.deep.equal(['cloudflare-net']);
    // The swarm's own record: once a task has attached here, the node's local copy may answer without the options.
    const [internal] = (await docker.listNetworks({
      filters: { name: [`${STACK}_agent-internal`], scope: ['swarm'] },
    })) as { Options?: Record<string, string> }[];
    expect(internal?.Options?.encrypted, 'agent ⇄ proxy encrypted between nodes').to.equal('true');
    expect(c.Secrets?.map((s) => [s.SecretName, s.File.UID, s.File.Mode])).to.deep.equal([
      ['dockflare_api_key', '65532', 0o400],
    ]);

    const proxy = (await docker.getService(`${STACK}_docker-socket-proxy`).inspect()) as Spec;
    const allowed = proxy.Spec.TaskTemplate.ContainerSpec.Env ?? [];
    for (const section of ['SERVICES', 'TASKS', 'NETWORKS', 'EVENTS', 'INFO', 'CONTAINERS'])
      expect(allowed, section).to.include(`${section}=1`);
    expect(allowed.join('\n')).not.to.match(/EXEC|NODES|IMAGES/);
    expect(proxy.Spec.TaskTemplate.Placement?.Constraints).to.deep.equal(['node.role == manager']);
  }
});
