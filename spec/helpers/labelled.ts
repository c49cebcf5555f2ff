import { BUSYBOX_IMAGE, TEST_LABEL, testDocker } from './docker.js';

/** Starts a labelled test container that stops promptly (init process), on no network. Returns its id. */
export async function startLabelled(
  name: string,
  labels: Record<string, string> = { 'dockflare.enable': 'true' },
): Promise<string> {
  const docker = testDocker();
  const c = await docker.createContainer({
    name,
    Image: BUSYBOX_IMAGE,
    Cmd: ['sleep', '600'],
    Labels: { [TEST_LABEL]: 'labelled', ...labels },
    HostConfig: { Init: true, NetworkMode: 'none' },
  });
  await c.start();
  return c.id;
}

export async function stopContainer(id: string): Promise<void> {
  await testDocker()
    .getContainer(id)
    .stop({ t: 2 })
    .catch(() => undefined);
}

/** Removes every container the specs made (by label) and the tunnel container. */
export async function removeTestContainers(): Promise<void> {
  const docker = testDocker();
  const list = await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } });
  await Promise.all(
    list.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  await docker
    .getContainer('dockflare-agent-tunnel')
    .remove({ force: true })
    .catch(() => undefined);
}
