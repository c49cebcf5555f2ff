import type http from 'node:http';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { dockerFromHost } from '../../../docker/dockerode-call.js';

const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';

/** An idle agent lists containers every report interval: that must not cost a new connection each time. */
describe('docker client: connections', () => {
  it("reuses one unix-socket connection across an idle gap longer than Node's default 5 s", async function () {
    if (!host.startsWith('unix://')) this.skip();
    this.timeout(15_000);
    const docker = dockerFromHost(host);
    const agent = (docker.modem as unknown as { agent?: http.Agent }).agent;
    if (!agent)
      expect.fail(
        "the Docker client has no keep-alive agent of its own: Node's global one drops idle sockets after 5 s",
      );
    const used = new Set<Socket>();
    agent.on('free', (socket: Socket) => {
      used.add(socket);
    });
    await docker.listContainers();
    // Nothing to await: the subject is a socket that stays open while nothing happens for longer than 5 s.
    await new Promise((resolve) => setTimeout(resolve, 5500));
    await docker.listContainers();
    expect(used.size).to.equal(1);
    agent.destroy();
  });
});
