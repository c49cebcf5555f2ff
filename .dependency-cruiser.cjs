// The layers of docs/architecture.md §6, checked in lint: a cycle or an import against the arrows fails.
//   agent/ → actors/ → messages/ → domain/ + supervisor/ (the runtime)
//   actors/ → docker/, master/, persistence/ (boundaries) → domain/, log/, the runtime's clock
const OURS = '^(domain|supervisor|messages|actors|docker|master|persistence|log|agent|cli)/';
const BOUNDARIES = '^(docker|master|persistence)/';

/** A rule that `from` may import nothing of ours but what `allowed` matches (and itself). */
const only = (name, comment, from, allowed) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: OURS, pathNot: allowed },
});

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Modules that import each other cannot be read, tested or moved one at a time.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    only(
      'domain-is-plain-data',
      'domain/ holds the plain types of the agent and imports nothing of ours.',
      '^domain/',
      '^domain/',
    ),
    only(
      'runtime-knows-no-agent',
      'supervisor/ is the actor runtime: it knows nothing of DockFlare and could be published alone.',
      '^supervisor/',
      '^supervisor/',
    ),
    only('log-stands-alone', 'log/ (logger, redaction) is below everything that logs.', '^log/', '^log/'),
    only(
      'messages-are-protocols',
      'A protocol names domain types and refs; it never reaches into an implementation.',
      '^messages/',
      '^(messages/|domain/|supervisor/actor-ref\\.[jt]s$)',
    ),
    only(
      'boundaries-know-no-actors',
      'Docker, the master client and persistence serve actors; they never import actor protocols or actors.',
      BOUNDARIES,
      '^(domain/|log/|supervisor/clock\\.[jt]s$)|' + BOUNDARIES,
    ),
    only(
      'boundaries-are-separate',
      'One boundary does not use another: actors combine them.',
      '^docker/',
      '^(docker/|domain/|log/|supervisor/clock\\.[jt]s$)',
    ),
    only(
      'master-is-separate',
      'One boundary does not use another: actors combine them.',
      '^master/',
      '^(master/|domain/|log/|supervisor/clock\\.[jt]s$)',
    ),
    only(
      'persistence-is-separate',
      'One boundary does not use another: actors combine them.',
      '^persistence/',
      '^(persistence/|domain/|log/|supervisor/clock\\.[jt]s$)',
    ),
    only(
      'actors-do-not-compose',
      'Actors get their dependencies from agent/; they never import the composition or the CLI.',
      '^actors/',
      '^(actors/|messages/|domain/|supervisor/|docker/|master/|persistence/|log/)',
    ),
    only(
      'review-stands-alone',
      'review is an offline product: it reads log lines, not the agent.',
      '^cli/review/',
      '^cli/review/',
    ),
    {
      name: 'only-the-cli-enters-the-agent',
      comment: 'agent/ is the composition root; nothing of the product imports it but the CLI.',
      severity: 'error',
      from: { path: '^(domain|supervisor|messages|actors|docker|master|persistence|log)/' },
      to: { path: '^agent/' },
    },
    {
      name: 'product-does-not-import-tests',
      comment: 'Specs, the bench and scripts use the product, never the other way round.',
      severity: 'error',
      from: { path: OURS },
      to: { path: '^(spec|bench|scripts)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
