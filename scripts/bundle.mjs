// The production artifact: one minified ES module, dist/dockflare-agent.mjs, built by esbuild from the sources.
// Why a bundle: measured on Node 20 (bench/), a bundle with only the code that is reachable starts from one file
// instead of ~200 modules and leaves the idle agent about 8 MB smaller than the tsc output; the runtime image then
// needs no node_modules at all. tsc still type-checks and emits dist/ for the tests and the development verbs.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
// BUNDLE_OUTFILE: where to write instead (the spec that runs the bundle outside the checkout).
const outfile = process.env.BUNDLE_OUTFILE ? path.resolve(process.env.BUNDLE_OUTFILE) : path.join(root, 'dist', 'dockflare-agent.mjs');

// dockerode's BuildKit sessions (gRPC, protobufjs) and docker-modem's ssh:// transport (ssh2) are never used by
// the agent: they are replaced by stubs that throw if called (lib/docker/load-dockerode.ts does the same at run
// time for the unbundled build). loadDockerode() itself becomes a plain static import.
const trimDockerode = {
  name: 'trim-dockerode',
  setup(b) {
    b.onResolve({ filter: /^\.\/(session|ssh)(\.js)?$/ }, (args) =>
      /[\\/](dockerode|docker-modem)[\\/]lib[\\/]/.test(args.importer) ? { path: args.path, namespace: 'unused-transport' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'unused-transport' }, (args) => ({
      contents: `module.exports = () => { throw new Error(${JSON.stringify(`${args.path}: not supported by dockflare-agent`)}); };`,
      loader: 'js',
    }));
    b.onResolve({ filter: /load-dockerode\.js$/ }, () => ({ path: 'load-dockerode', namespace: 'static-dockerode' }));
    b.onLoad({ filter: /.*/, namespace: 'static-dockerode' }, () => ({
      contents: "import Docker from 'dockerode'; export function loadDockerode() { return Docker; }",
      loader: 'js',
      resolveDir: root,
    }));
  },
};

await build({
  entryPoints: [path.join(root, 'cli', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // BUNDLE_MINIFY=0 keeps names readable, for a CPU profile of the bundle.
  minify: process.env.BUNDLE_MINIFY !== '0',
  // Optional add-ons that bunyan and docker-modem load inside try/catch; absent at run time by design.
  external: ['dtrace-provider', 'mv', 'source-map-support', 'moment', 'cpu-features', 'ssh2'],
  plugins: [trimDockerode],
  // The CommonJS dependencies call require() for Node built-ins; an ES module has none of its own.
  banner: { js: "import { createRequire as __dfaCreateRequire } from 'node:module';\nconst require = __dfaCreateRequire(import.meta.url);" },
  legalComments: 'linked',
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
