import Docker from 'dockerode';

/** The engine scripts/with-dockerd.sh prepared, and the images it imported. */
export function testDocker(): Docker {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port) });
}

export const BUSYBOX_IMAGE = process.env.DOCKERTEST_BUSYBOX_IMAGE ?? 'local/busybox:1';
export const CLOUDFLARED_IMAGE = process.env.DOCKERTEST_CLOUDFLARED_IMAGE ?? 'local/cloudflared:stand-in';
/** Every container a spec creates carries this label, so the harness can remove leftovers. */
export const TEST_LABEL = 'dockflare-test';

/** Docker's multiplexed log format (non-TTY): frames of [stream, 0, 0, 0, size(u32 BE)] + payload. */
export function demuxLogs(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out;
}
