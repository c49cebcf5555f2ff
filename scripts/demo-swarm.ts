/**
 * The Swarm part of `DEMO_SWARM=1 npm run demo`: the engine made a single-node swarm for the demo (never one that is
 * in a swarm already: a real cluster's services are not the demo's to touch), an attachable overlay network, a
 * labelled sample service in place of the sample container, and a watch printing the tunnel service as its tasks
 * converge. Everything goes again at the end, the swarm included.
 */
import type Docker from 'dockerode';

export const SWARM_SAMPLE = 'dockflare-demo-web';
const TUNNEL_SERVICE = 'dockflare-agent-tunnel';

interface Task {
  Status?: { State?: string };
  DesiredState?: string;
}

export interface SwarmDemo {
  /** Stops the watch, removes the services and the network, and leaves the swarm. */
  cleanup(): Promise<void>;
}

export async function startSwarmDemo(
  d: Docker,
  opts: { network: string; image: string; say: (line: string) => void },
): Promise<SwarmDemo> {
  const { say } = opts;
  const info = (await d.info()) as { Swarm?: { LocalNodeState?: string } };
  if ((info.Swarm?.LocalNodeState ?? 'inactive') !== 'inactive')
    throw new Error('DEMO_SWARM=1 needs an engine that is in no swarm: the demo makes one and leaves it after');
  await d.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
  say('made the engine a single-node swarm (it leaves it at the end)');
  await d.createNetwork({ Name: opts.network, Driver: 'overlay', Attachable: true });
  await d.createService({
    Name: SWARM_SAMPLE,
    Labels: {
      'dockflare.enable': 'true',
      'dockflare.hostname': 'demo.example.com',
      'dockflare.service': `http://${SWARM_SAMPLE}:80`,
    },
    TaskTemplate: {
      ContainerSpec: { Image: opts.image, Command: ['httpd', '-f', '-p', '80', '-h', '/etc'], Init: true },
      Networks: [{ Target: opts.network }],
    },
    Mode: { Replicated: { Replicas: 2 } },
  } as unknown as Docker.CreateServiceOptions);
  say(
    `created the labelled sample service ${SWARM_SAMPLE} (2 replicas, deploy.labels dockflare.hostname=demo.example.com)`,
  );

  let last = '';
  const watch = setInterval(() => {
    void d
      .listTasks({ filters: { service: [TUNNEL_SERVICE], 'desired-state': ['running'] } })
      .then((tasks: Task[]) => {
        const running = tasks.filter((t) => t.Status?.State === 'running').length;
        const now = `${running}/${tasks.length}`;
        if (now !== last && tasks.length > 0) say(`swarm: tunnel service ${TUNNEL_SERVICE} has ${now} tasks running`);
        last = now;
      })
      .catch(() => undefined);
  }, 250);

  return {
    async cleanup() {
      clearInterval(watch);
      for (const name of [SWARM_SAMPLE, TUNNEL_SERVICE])
        await d
          .getService(name)
          .remove()
          .catch(() => undefined);
      await d.swarmLeave({ force: true }).catch(() => undefined);
      await d
        .getNetwork(opts.network)
        .remove()
        .catch(() => undefined);
      say('left the swarm');
    },
  };
}
