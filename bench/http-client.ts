/**
 * `npm run bench:http`: what one request costs the agent's process, per HTTP client, with and without the image's
 * node flags. node-fetch (the master client) against Node's own http.request, and a dockerode listing, each
 * against a local server in another process, spaced 20 ms apart like an idle agent's requests (not back to back,
 * which would flatter every client). Prints CPU (user+system) per request, median of 5 rounds. For the decision
 * the README leaves open: whether node-fetch's share of idle CPU is worth its API.
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import fetch from 'node-fetch';
import { dockerFromHost } from '../docker/dockerode-call.js';
import { imageCommand } from './agent.js';
import { median, pause } from './util.js';

const ROUNDS = 5;
const PER_ROUND = 100;
const SPACING_MS = 20;

interface Figure {
  client: string;
  cpuMsPerRequest: number;
}

async function measure(client: string, op: () => Promise<unknown>): Promise<Figure> {
  for (let i = 0; i < 20; i++) await op();
  const cpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let busy = 0;
    for (let i = 0; i < PER_ROUND; i++) {
      const c0 = process.cpuUsage();
      await op();
      const c = process.cpuUsage(c0);
      busy += c.user + c.system;
      await pause(SPACING_MS);
    }
    cpu.push(busy / PER_ROUND / 1000);
  }
  return { client, cpuMsPerRequest: Number((median(cpu) ?? NaN).toFixed(3)) };
}

async function worker(): Promise<void> {
  const server = spawn(
    process.execPath,
    [
      '-e',
      `
    const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => { r.writeHead(200, { 'content-type': 'application/json' }); r.end('{"status":"success","code":"accepted"}'); }); });
    s.keepAliveTimeout = 65000; s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve) => {
    server.stdout.once('data', (d: Buffer) => {
      resolve(Number(d.toString().trim()));
    });
  });
  try {
    const agent = new http.Agent({ keepAlive: true });
    const url = `http://127.0.0.1:${port}/api/v2/agents/x/events`;
    const body = JSON.stringify({
      type: 'heartbeat',
      protocol_version: 2,
      agent_session_id: 's'.repeat(43),
      event_sequence: 1,
      timestamp: new Date().toISOString(),
    });
    const headers = {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      Authorization: `Bearer ${'k'.repeat(43)}`,
    };
    const figures = [
      await measure('node-fetch POST', async () => {
        const res = await fetch(url, {
          method: 'POST',
          body,
          headers,
          agent,
          compress: false,
          redirect: 'manual',
          signal: new AbortController().signal,
        });
        JSON.parse(await res.text());
      }),
      await measure(
        'http.request POST',
        () =>
          new Promise<void>((resolve, reject) => {
            const req = http.request(
              url,
              { method: 'POST', headers, agent, signal: new AbortController().signal },
              (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (c: string) => {
                  text += c;
                });
                res.on('end', () => {
                  JSON.parse(text);
                  resolve();
                });
              },
            );
            req.on('error', reject);
            req.end(body);
          }),
      ),
    ];
    // The agent's own Docker client (its keep-alive agent included), on whatever engine DOCKER_HOST names.
    const docker = dockerFromHost(process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock');
    figures.push(
      await measure('dockerode listContainers', () =>
        docker.listContainers({ filters: { label: ['dockflare.enable'] } }),
      ),
    );
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    server.kill();
  }
}

function main(): void {
  const imageFlags = imageCommand().nodeFlags;
  const variants: { name: string; flags: string[] }[] = [
    { name: 'node (no flags)', flags: [] },
    { name: `node ${imageFlags.join(' ')} (the image)`, flags: imageFlags },
  ];
  const out: Record<string, Figure[]> = {};
  for (const v of variants) {
    const r = spawnSync(
      process.execPath,
      [...v.flags, '--import', 'tsx', path.join(import.meta.dirname, 'http-client.ts'), 'worker'],
      { encoding: 'utf8', env: process.env, timeout: 120_000 },
    );
    if (r.status !== 0) throw new Error(`worker (${v.name}) failed: ${r.stderr}`);
    out[v.name] = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '[]') as Figure[];
  }
  process.stdout.write(
    `${JSON.stringify({ node: process.version, spacingMs: SPACING_MS, requestsPerRound: PER_ROUND, rounds: ROUNDS, results: out }, null, 2)}\n\n`,
  );
  process.stdout.write('| runtime | client | CPU per request (ms) |\n|---|---|---|\n');
  for (const [name, figs] of Object.entries(out))
    for (const f of figs) process.stdout.write(`| ${name} | ${f.client} | ${f.cpuMsPerRequest} |\n`);
}

if (process.argv[2] === 'worker') await worker();
else main();
