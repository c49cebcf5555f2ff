/** `dockflare-agent review [FILE|-] [--json] [--html OUT]`: judge a host from its agent's logs. */
import { readFile, writeFile } from 'node:fs/promises';
import { EXIT } from '../agent/exit-codes.js';
import { reviewRun } from './review/analyze.js';
import { parseLog } from './review/parse.js';
import { renderHtml, renderTable } from './review/render.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function review(
  args: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let file = '-';
  let json = false;
  let html: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') json = true;
    else if (a === '--html') html = args[++i] ?? '';
    else if (a !== undefined && (!a.startsWith('--') || a === '-')) file = a;
    else {
      err(`review: unknown option ${String(a)}\n`);
      return EXIT.usage;
    }
  }
  if (html === '' || html?.startsWith('--')) {
    err('review: --html needs a file name\n');
    return EXIT.usage;
  }
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (e) {
    err(`review: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.noInput;
  }
  const parsed = parseLog(text);
  const runs = parsed.runs.map(reviewRun);
  const table = renderTable(runs, parsed.skipped);
  if (html !== undefined) {
    try {
      await writeFile(html, renderHtml(runs, table));
    } catch (e) {
      err(`review: cannot write ${html}: ${e instanceof Error ? e.message : String(e)}\n`);
      return EXIT.cantCreate;
    }
  }
  if (json) {
    const slim = runs.map(({ timeline: _timeline, ...rest }) => rest);
    out(
      `${JSON.stringify({ runs: slim, skippedLines: parsed.skipped, totalLines: parsed.total, verdict: runs.at(-1)?.verdict ?? null }, null, 2)}\n`,
    );
  } else {
    out(table);
  }
  return 0;
}
