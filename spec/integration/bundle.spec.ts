import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { imageCommand } from '../../bench/agent.js';
import { TestMaster } from '../master/index.js';

const run = promisify(execFile);

/**
 * The production bundle (scripts/bundle.mjs) is what the image and the benchmark run: it must work from a
 * directory with no node_modules, with the image's own node flags, against the real engine and the test master.
 */
describe('bundle: dist/dockflare-agent.mjs outside the checkout', function () {
  this.timeout(60_000);
  let dir = '';
  let script = '';
  const flags = imageCommand().nodeFlags;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-bundle-'));
    script = path.join(dir, 'dist', 'dockflare-agent.mjs');
    await mkdir(path.dirname(script));
    await run(process.execPath, ['scripts/bundle.mjs'], { env: { ...process.env, BUNDLE_OUTFILE: script } });
    await copyFile('package.json', path.join(dir, 'package.json'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its version with the image flags and nothing on stderr', async () => {
    const { stdout, stderr } = await run(process.execPath, [...flags, script, 'version'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
    });
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(stdout.trim()).to.equal(pkg.version);
    expect(stderr).to.equal('');
  });

  it('loads no optional add-on from a node_modules beside it (a checkout, where npm start runs it)', async () => {
    // Each add-on bunyan, docker-modem and node-fetch try to require, present here as a package that leaves a mark.
    const addOns = ['dtrace-provider', 'mv', 'source-map-support', 'moment', 'ssh2', 'cpu-features', 'encoding'];
    const checkout = path.join(dir, 'checkout');
    for (const name of addOns) {
      await mkdir(path.join(checkout, 'node_modules', name), { recursive: true });
      const mark = JSON.stringify(path.join(checkout, `loaded-${name}`));
      await writeFile(
        path.join(checkout, 'node_modules', name, 'index.js'),
        `require('node:fs').writeFileSync(${mark}, '');\nmodule.exports = {};\n`,
      );
    }
    await mkdir(path.join(checkout, 'dist'));
    await copyFile(script, path.join(checkout, 'dist', 'dockflare-agent.mjs'));
    await copyFile('package.json', path.join(checkout, 'package.json'));
    const { stdout } = await run(
      process.execPath,
      [...flags, path.join(checkout, 'dist', 'dockflare-agent.mjs'), 'version'],
      {
        cwd: checkout,
        env: { PATH: process.env.PATH ?? '' },
      },
    );
    expect(stdout.trim()).not.to.equal('');
    expect(
      (await readdir(checkout)).filter((f) => f.startsWith('loaded-')),
      'add-ons loaded',
    ).to.deep.equal([]);
  });

  it("reads no built-in module's exports it does not use while loading (ES module facades read every one)", async () => {
    // An ES import of a built-in makes Node read every export of it once, getters included: tls.rootCertificates
    // copies every root certificate, crypto's webcrypto loads WebCrypto. The bundle takes built-ins through require.
    // (The banner's one import, node:module, gives the bundle its require.)
    expect(await readFile(script, 'utf8')).not.to.match(/from\s*["']node:(?!module["'])/);
    const report = path.join(dir, 'loaded.json');
    const preload = path.join(dir, 'note-loaded.cjs');
    await writeFile(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(process.moduleLoadList)));\n`,
    );
    await run(process.execPath, [...flags, '--require', preload, script, 'version'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
    });
    const loaded = JSON.parse(await readFile(report, 'utf8')) as string[];
    expect(loaded, 'the node:http module').to.include('NativeModule http');
    expect(loaded).not.to.include('NativeModule internal/crypto/webcrypto');
  });

  it('ships the licence of every package it bundles beside it (the image copies the file)', async () => {
    const legal = await readFile(`${script}.LEGAL.txt`, 'utf8');
    const deps = Object.keys(
      (JSON.parse(await readFile('package.json', 'utf8')) as { dependencies: Record<string, string> }).dependencies,
    );
    for (const name of deps) expect(legal, name).to.match(new RegExp(`^${name}@\\d+\\.\\d+\\.\\d+ \\(`, 'm'));
    expect(legal).to.include('Permission is hereby granted'); // an MIT licence text, not only a name
    expect(legal).to.include('Apache License');
  });

  it('registers, reports its inventory from Docker and stops cleanly on SIGTERM', async () => {
    const master = await TestMaster.start({ mode: 'v2' });
    const child = spawn(process.execPath, [...flags, script, 'run'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        DOCKFLARE_MASTER_URL: master.url,
        DOCKFLARE_API_KEY: master.generateKey(),
        AGENT_DATA_DIR: path.join(dir, 'data'),
        DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
        HEALTH_CHECK_PORT: '0',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        resolve(code);
      });
    });
    try {
      await master.waitFor((r) => r.endpoint === 'register' && r.status < 300, 20_000, 'registration from the bundle');
      // A status report needs the Docker client (dockerode, bundled with its unused transports stubbed out).
      const report = await master.waitFor(
        (r) => r.endpoint === 'events' && (r.body as { type?: string }).type === 'status_report',
        20_000,
        'a status report',
      );
      const body = report.body as { inventory_complete?: unknown; containers?: unknown };
      expect(body.inventory_complete, 'the Docker scan succeeded').to.equal(true);
      expect(body.containers).to.be.an('array');
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
      expect(stderr).to.equal('');
    } finally {
      child.kill('SIGKILL');
      await master.stop();
    }
  });
});
