import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { dockerFromHost } from '../../../docker/dockerode-call.js';
import { DockerodePort } from '../../../docker/dockerode-port.js';
import { testDocker } from '../../helpers/docker.js';
import { removeSpecContainers, runLabelled } from '../../helpers/docker-fixtures.js';

/** A pass-through proxy in front of the test engine that keeps the label sets of every container list it relays. */
async function listRecorder(): Promise<{ host: string; listed: Record<string, string>[][]; close: () => void }> {
  const upstream = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const socketPath = upstream.replace(/^unix:\/\//, '');
  const listed: Record<string, string>[][] = [];
  const server = http.createServer((req, res) => {
    const out = http.request({ socketPath, method: req.method, path: req.url, headers: req.headers }, (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        if (/\/containers\/json/.test(req.url ?? '') && up.statusCode === 200)
          listed.push((JSON.parse(body.toString()) as { Labels: Record<string, string> }[]).map((c) => c.Labels));
        res.writeHead(up.statusCode ?? 502, up.headers).end(body);
      });
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { host: `tcp://127.0.0.1:${port}`, listed, close: () => server.close() };
}

describe('docker port: the inventory lists only labelled containers', () => {
  const docker = testDocker();
  afterEach(() => removeSpecContainers());

  it('asks Docker for enable-labelled containers only and applies the truthy rule itself, once per container', async () => {
    const recorder = await listRecorder();
    try {
      const [upper, tunnelKey, both] = await Promise.all([
        runLabelled(docker, { labels: { 'dockflare.enable': 'TRUE' } }),
        runLabelled(docker, { labels: { 'cloudflare.tunnel.enable': 'yes' } }),
        runLabelled(docker, { labels: { 'dockflare.enable': 'true', 'cloudflare.tunnel.enable': '1' } }),
        runLabelled(docker, { labels: { 'dockflare.enable': 'false' } }),
        runLabelled(docker, { labels: { 'dockflare.enable': 'true' }, start: false }),
        ...[1, 2, 3].map(() => runLabelled(docker, { labels: { 'other.label': 'x' } })),
      ]);
      const port = new DockerodePort(dockerFromHost(recorder.host));

      const listed = await port.listManagedContainers();

      expect(listed.map((c) => c.id).sort()).to.deep.equal([upper.id, tunnelKey.id, both.id].sort());
      expect(listed.find((c) => c.id === both.id)?.labels).to.deep.equal({
        'dockflare.enable': 'true',
        'cloudflare.tunnel.enable': '1',
      });
      // Docker's replies held no container without an enable label (the three unlabelled ones are running).
      const replied = recorder.listed.flat();
      expect(replied, 'the lists Docker sent').not.to.be.empty;
      for (const labels of replied)
        expect(Object.keys(labels).some((k) => k === 'dockflare.enable' || k === 'cloudflare.tunnel.enable')).to.equal(
          true,
          `a listed container without an enable label: ${JSON.stringify(labels)}`,
        );
    } finally {
      recorder.close();
    }
  });
});
