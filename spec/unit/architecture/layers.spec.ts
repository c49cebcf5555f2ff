/**
 * The layer check of lint (.dependency-cruiser.cjs) fails on what it is there to catch: a cycle, the runtime
 * reaching into the agent, a boundary importing an actor protocol, domain/ importing anything of ours. Each case is
 * a two- or three-file tree made for it, cruised with the repo's own rules; the real tree must cruise clean.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';

const rules = (
  createRequire(import.meta.url)('../../../.dependency-cruiser.cjs') as { forbidden: IForbiddenRuleType[] }
).forbidden;

/** Cruises a made tree (`file → the files it imports`) with the repo's rules; the names of the rules broken. */
async function broken(tree: Record<string, string[]>): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-layers-'));
  try {
    for (const [file, imports] of Object.entries(tree)) {
      await mkdir(path.join(dir, path.dirname(file)), { recursive: true });
      const lines = imports.map((to, i) => {
        const rel = path.relative(path.dirname(file), to);
        return `import * as m${i} from '${rel.startsWith('.') ? rel : `./${rel}`}';\nexport const u${i} = m${i};`;
      });
      await writeFile(path.join(dir, file), `${lines.join('\n')}\nexport const here = 1;\n`);
    }
    const roots = [...new Set(Object.keys(tree).map((f) => f.split('/')[0]!))];
    const result = (await cruise(roots, { ruleSet: { forbidden: rules }, validate: true, baseDir: dir }))
      .output as ICruiseResult;
    return [...new Set(result.summary.violations.map((v) => v.rule.name))].sort();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('architecture: the layer check', () => {
  it('passes a tree that follows the arrows', async () => {
    expect(
      await broken({
        'domain/container.js': [],
        'supervisor/actor-ref.js': [],
        'messages/reporter.js': ['domain/container.js', 'supervisor/actor-ref.js'],
        'master/client.js': ['domain/container.js'],
        'actors/reporter/reporter.js': ['messages/reporter.js', 'master/client.js'],
        'agent/tree.js': ['actors/reporter/reporter.js'],
      }),
    ).to.deep.equal([]);
  });

  it('fails on a cycle', async () => {
    expect(
      await broken({ 'master/envelope.js': ['master/result.js'], 'master/result.js': ['master/envelope.js'] }),
    ).to.deep.equal(['no-cycles']);
  });

  it('fails when the runtime imports the agent, or domain/ imports anything of ours', async () => {
    expect(
      await broken({ 'supervisor/tree.js': ['log/logger.js'], 'log/logger.js': [], 'domain/x.js': ['log/logger.js'] }),
    ).to.deep.equal(['domain-is-plain-data', 'runtime-knows-no-agent']);
  });

  it('fails when a boundary imports an actor protocol, or a message imports a boundary', async () => {
    expect(
      await broken({
        'persistence/outbox.js': ['messages/reporter.js'],
        'messages/reporter.js': ['master/client.js'],
        'master/client.js': [],
      }),
    ).to.deep.equal(['boundaries-know-no-actors', 'messages-are-protocols', 'persistence-is-separate']);
  });

  it('fails when anything but the CLI imports the composition root', async () => {
    expect(await broken({ 'actors/a/a.js': ['agent/tree.js'], 'agent/tree.js': [] })).to.deep.equal([
      'actors-do-not-compose',
      'only-the-cli-enters-the-agent',
    ]);
  });
});
