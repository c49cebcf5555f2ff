import type Docker from 'dockerode';
import { dockerFromHost } from '../../docker/dockerode-call.js';

/** The engine scripts/with-dockerd.sh prepared, and the images it imported. */
export function testDocker(): Docker {
  return dockerFromHost(process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock');
}

export const BUSYBOX_IMAGE = process.env.DOCKERTEST_BUSYBOX_IMAGE ?? 'local/busybox:1';
export const CLOUDFLARED_IMAGE = process.env.DOCKERTEST_CLOUDFLARED_IMAGE ?? 'local/cloudflared:stand-in';
/** Every container a spec creates carries this label, so the harness can remove leftovers. */
export const TEST_LABEL = 'dockflare-test';

/** Docker's multiplexed log format (non-TTY), as the agent itself reads it. */
export { demux as demuxLogs } from '../../docker/dockerode-call.js';
