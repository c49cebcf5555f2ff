/**
 * Every `§` the code and the docs cite resolves to a heading of a doc in docs/: a reader who clones the repo can
 * follow each one. A bare `§N` refers to the doc named last before it in the same file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'chai';

const SOURCES = /\.(ts|mjs|cjs|js|sh|yml|md)$|(^|\/)Dockerfile$/;
const DOC_NAME = /(?:docs\/)?\b(protocol|architecture|operations)\.md\b/g;
const SECTION = /§\s?(\d+(?:\.\d+)*)/g;

/** The section numbers of a doc: `## 5. Events` gives 5, `### 5.2 Responses` gives 5.2. */
function sectionsOf(doc: string): Set<string> {
  const numbers = new Set<string>();
  for (const line of readFileSync(`docs/${doc}.md`, 'utf8').split('\n')) {
    const m = /^#{2,4} (\d+(?:\.\d+)*)\.?\s/.exec(line);
    if (m?.[1] !== undefined) numbers.add(m[1]);
  }
  return numbers;
}

interface Ref {
  file: string;
  line: number;
  doc: string | null;
  section: string;
}

/** Each `§` of a text with the doc it refers to, by the rule above (in docs/x.md, x itself until another is named). */
export function referencesIn(file: string, text: string): Ref[] {
  const refs: Ref[] = [];
  let doc: string | null = /^docs\/(\w+)\.md$/.exec(file)?.[1] ?? null;
  text.split('\n').forEach((lineText, i) => {
    const marks: { at: number; doc?: string; section?: string }[] = [];
    for (const m of lineText.matchAll(DOC_NAME)) marks.push({ at: m.index, doc: m[1] });
    for (const m of lineText.matchAll(SECTION)) marks.push({ at: m.index, section: m[1] });
    marks.sort((a, b) => a.at - b.at);
    for (const mark of marks) {
      if (mark.doc !== undefined) doc = mark.doc;
      else if (mark.section !== undefined) refs.push({ file, line: i + 1, doc, section: mark.section });
    }
  });
  return refs;
}

describe('docs: every § reference resolves', () => {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => SOURCES.test(f) && existsSync(f));
  const headings = new Map<string, Set<string>>();
  const sections = (doc: string): Set<string> => {
    let found = headings.get(doc);
    if (found === undefined) {
      found = existsSync(`docs/${doc}.md`) ? sectionsOf(doc) : new Set();
      headings.set(doc, found);
    }
    return found;
  };

  it('finds the references (the scan itself works)', () => {
    const refs = referencesIn('x.ts', 'see docs/protocol.md §5.2 and §3; design in docs/architecture.md §1');
    expect(refs.map((r) => `${r.doc ?? '?'} ${r.section}`)).to.deep.equal([
      'protocol 5.2',
      'protocol 3',
      'architecture 1',
    ]);
    expect(referencesIn('y.ts', 'a bare §4 with no doc named')[0]?.doc).to.equal(null);
  });

  it('names an existing doc and section for each one', () => {
    const broken: string[] = [];
    let count = 0;
    for (const file of files) {
      for (const ref of referencesIn(file, readFileSync(file, 'utf8'))) {
        count++;
        if (ref.doc === null) broken.push(`${file}:${ref.line} §${ref.section} names no doc before it`);
        else if (!sections(ref.doc).has(ref.section))
          broken.push(`${file}:${ref.line} docs/${ref.doc}.md has no §${ref.section}`);
      }
    }
    expect(broken).to.deep.equal([]);
    expect(count, 'references scanned').to.be.greaterThan(50);
  });

  it('cites no doc that is not in the repo', () => {
    const missing: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b(?:docs\/)?([\w-]+)\.md\s?§/g)) {
        if (!existsSync(`docs/${m[1] ?? ''}.md`)) missing.push(`${file}: ${m[0]}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });
});
