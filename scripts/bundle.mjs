// The production artifact: one minified ES module, dist/dockflare-agent.mjs, built by esbuild from the sources.
// Why a bundle: measured on Node 20 (bench/), one file with only the code the agent can reach, instead of ~200
// modules, leaves the idle agent about 11 MB smaller than the tsc output (66 → 55 MB), and the runtime image needs no
// node_modules at all. tsc still type-checks and emits dist/ for the tests and the development verbs.
import { build } from 'esbuild';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
// BUNDLE_OUTFILE: where to write instead (the spec that runs the bundle outside the checkout).
const outfile = process.env.BUNDLE_OUTFILE
  ? path.resolve(process.env.BUNDLE_OUTFILE)
  : path.join(root, 'dist', 'dockflare-agent.mjs');

// Code the agent never runs is replaced by stubs that throw if ever called (docker/load-dockerode.ts does
// the same at run time for the unbundled build): dockerode's BuildKit support (gRPC, protobufjs) and its build
// contexts (tar-fs, .dockerignore), docker-modem's ssh:// transport (ssh2) and node-fetch's URL polyfill (with its
// 250 KB Unicode table) for Nodes without a URL class. Each is source text that would otherwise sit in the heap of
// every agent. loadDockerode() itself becomes a static import.
const UNUSED = [
  {
    importer: /[\\/]dockerode[\\/]lib[\\/]/,
    request: /^\.\/(session|buildkit)(\.js)?$/,
    why: 'BuildKit is not used by dockflare-agent',
  },
  {
    importer: /[\\/]dockerode[\\/]lib[\\/]/,
    request: /^(tar-fs|@balena\/dockerignore)$/,
    why: 'image builds are not used by dockflare-agent',
  },
  {
    importer: /[\\/]docker-modem[\\/]lib[\\/]/,
    request: /^\.\/ssh(\.js)?$/,
    why: 'ssh:// DOCKER_HOST is not supported by dockflare-agent; use unix:// or tcp://',
  },
  {
    importer: /[\\/]node-fetch[\\/]/,
    request: /^whatwg-url$/,
    why: "node-fetch uses Node's own URL; whatwg-url is its fallback for Nodes without one",
  },
];

// Optional add-ons that bunyan (dtrace-provider, mv, source-map-support, moment), docker-modem (ssh2, cpu-features)
// and node-fetch (encoding) require inside try/catch. Left external, Node would load them from any node_modules
// above the bundle: run from a checkout (npm start, the bench) the agent loaded dtrace-provider and mv with glob,
// rimraf and ncp, which the image never has. Bundled as a module that fails as a missing one does.
const ABSENT = ['dtrace-provider', 'mv', 'source-map-support', 'moment', 'cpu-features', 'ssh2', 'encoding'];

const trim = {
  name: 'trim-unused',
  setup(b) {
    // The agent's own modules import Node's built-ins as ES modules, and Node builds each one's ES module facade by
    // reading every export once, getters included: tls.rootCertificates copies the ~140 root certificates (~1 MB
    // resident), crypto's webcrypto loads WebCrypto. Through require, which the dependencies use anyway, an export
    // is read only when used.
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin-require' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
    const absent = new RegExp(`^(${ABSENT.join('|')})$`);
    b.onResolve({ filter: absent }, (args) => ({ path: args.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}' (not part of dockflare-agent)`)}), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
    b.onResolve({ filter: /.*/ }, (args) => {
      const hit = UNUSED.find((u) => u.request.test(args.path) && u.importer.test(args.importer));
      return hit ? { path: args.path, namespace: 'unused', pluginData: hit.why } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'unused' }, (args) => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(`${args.path}: ${String(args.pluginData)}`)}); };\nmodule.exports = new Proxy(fail, { get: (_t, k) => (k === '__esModule' ? false : fail) });`,
      loader: 'js',
    }));
    // docker-modem formats every request with util.inspect for its debug log even when that log is off (~9 % of
    // an idle agent's CPU profile): give it an inspect that formats only when the message is actually printed.
    b.onResolve({ filter: /^util$/ }, (args) =>
      /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/.test(args.importer)
        ? { path: 'lazy-inspect', namespace: 'lazy-inspect' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-inspect' }, () => ({
      contents:
        "const util = require('node:util');\nmodule.exports = { ...util, inspect: (value, options) => ({ toString: () => util.inspect(value, options) }) };",
      loader: 'js',
    }));
    // readable-stream is a copy of Node's own streams for old Nodes (docker-modem's hijacked exec streams use it).
    b.onResolve({ filter: /^readable-stream$/ }, () => ({ path: 'node:stream', external: true }));
    b.onResolve({ filter: /load-dockerode\.js$/ }, () => ({ path: 'load-dockerode', namespace: 'static-dockerode' }));
    b.onLoad({ filter: /.*/, namespace: 'static-dockerode' }, () => ({
      contents: "import Docker from 'dockerode'; export function loadDockerode() { return Docker; }",
      loader: 'js',
      resolveDir: root,
    }));
  },
};

const result = await build({
  entryPoints: [path.join(root, 'cli', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  // An ES module, although an .mjs entry makes Node load its ESM loader (~2 MB for a bare script): measured with
  // the agent, the same bundle as CommonJS leaves ~2.5 MB more resident, not less.
  format: 'esm',
  target: 'node20',
  // BUNDLE_MINIFY=0 keeps names readable, for a CPU profile of the bundle.
  minify: process.env.BUNDLE_MINIFY !== '0',
  plugins: [trim],
  // The CommonJS dependencies call require() for Node built-ins; an ES module has none of its own.
  banner: {
    js: "import { createRequire as __dfaCreateRequire } from 'node:module';\nconst require = __dfaCreateRequire(import.meta.url);",
  },
  metafile: true,
  // The notices go into a file of their own, written below from the packages' own LICENSE files.
  legalComments: 'none',
  logLevel: 'warning',
});
await chmod(outfile, 0o755);

// <bundle>.LEGAL.txt: for every package the bundle holds code of, its name, version, licence and LICENSE file, as
// their licences ask of a redistribution (the image ships this file beside the bundle).
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /^(.*node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(input);
  if (m) packages.add(m[1]);
}
const notices = [];
for (const dir of [...packages].sort()) {
  const meta = JSON.parse(await readFile(path.join(root, dir, 'package.json'), 'utf8'));
  const files = await readdir(path.join(root, dir));
  const licenceFile = files.find((f) => /^(licen[cs]e|copying)/i.test(f));
  // An Apache-2.0 package's NOTICE file travels with it too.
  const noticeFile = files.find((f) => /^notice/i.test(f));
  const read = (f) => readFile(path.join(root, dir, f), 'utf8');
  const text = [
    licenceFile ? await read(licenceFile) : '(no licence file in the package)',
    ...(noticeFile ? [await read(noticeFile)] : []),
  ].join('\n\n');
  notices.push(`${meta.name}@${meta.version} (${meta.license ?? 'licence not declared'})\n\n${text.trim()}\n`);
}
await writeFile(
  `${outfile}.LEGAL.txt`,
  `Third-party packages bundled in ${path.basename(outfile)}:\n\n${notices.join('\n' + '-'.repeat(80) + '\n\n')}`,
);
if (process.env.BUNDLE_REPORT === '1') {
  const { analyzeMetafile } = await import('esbuild');
  process.stdout.write(await analyzeMetafile(result.metafile));
}
