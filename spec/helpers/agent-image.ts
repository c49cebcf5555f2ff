/**
 * The agent's image built from the unchanged Dockerfile for a spec: an offline Node base made first (no registry
 * here), then `docker build` with `--network host` (`npm ci` in the build needs the npm registry; the private engine
 * has no default bridge).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function buildAgentImage(opts: {
  /** scripts/make-node-base.sh or its arm64 twin. */
  baseScript: string;
  base: string;
  tag: string;
  platform?: string;
}): Promise<void> {
  await run('bash', [opts.baseScript, opts.base], { maxBuffer: 1 << 24 });
  const platform = opts.platform === undefined ? [] : ['--platform', opts.platform];
  await run(
    'docker',
    [
      'build',
      ...platform,
      '--network',
      'host',
      '--build-arg',
      `NODE_IMAGE=${opts.base}`,
      '--build-arg',
      'INSTALL_TINI=0',
      '-t',
      opts.tag,
      '.',
    ],
    { maxBuffer: 1 << 26 },
  );
}
