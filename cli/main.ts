#!/usr/bin/env node
/**
 * `dockflare-agent [run]` runs the agent from environment variables alone. Later verbs (review, chaos,
 * healthcheck) hang off the same dispatcher.
 */
import { describeVariables } from '../agent/config/config.js';
import { EXIT } from '../agent/exit-codes.js';
import { agentVersion } from '../agent/version.js';
import { runAgent } from '../agent/main.js';
import { chaosKill, healthcheck } from './http-verbs.js';
import { review } from './review.js';
import { decommissionVerb } from './decommission.js';

const USAGE = `usage: dockflare-agent [run | review [FILE|-] [--json] [--html OUT] | healthcheck | chaos kill <actor> |
                       decommission status|clear [--yes] | config | version | help]
  run                 run the agent (default); configured by environment variables
  review              judge a host from agent logs (bunyan JSON), e.g. docker logs dockflare-agent 2>&1 | dockflare-agent review
  healthcheck         ask the running agent's /livez; exit 0 while it is alive (the image's HEALTHCHECK)
  chaos kill <actor>  kill one actor of the running agent (needs CHAOS_ENABLED=true there)
  decommission status show the decommission tombstone; \`decommission clear --yes\` removes it to reuse the host
  config              list the environment variables with their defaults
  version             print the agent version
`;

/** Verbs that take no arguments, and how many words `chaos kill <actor>` takes. */
const ARITY: Readonly<Record<string, number>> = {
  run: 1,
  healthcheck: 1,
  config: 1,
  version: 1,
  '--version': 1,
  help: 1,
  '--help': 1,
  '-h': 1,
  chaos: 3,
};

async function main(argv: readonly string[]): Promise<void> {
  const verb = argv[0] ?? 'run';
  const write = (line: string): void => {
    process.stdout.write(line);
  };
  const arity = ARITY[verb];
  if (arity !== undefined && argv.length > arity) {
    process.stderr.write(`dockflare-agent: unexpected argument '${String(argv[arity])}'\n${USAGE}`);
    process.exit(EXIT.usage);
  }
  switch (verb) {
    case 'run':
      await runAgent({
        env: process.env,
        stdout: write,
        stderr: (l) => {
          process.stderr.write(l);
        },
        exit: (code) => process.exit(code),
      });
      return;
    case 'review':
      process.exitCode = await review(argv.slice(1), write, (l) => {
        process.stderr.write(l);
      });
      return;
    case 'healthcheck':
      process.exitCode = await healthcheck(process.env, write);
      return;
    case 'chaos':
      if (argv[1] !== 'kill') {
        process.stderr.write(USAGE);
        process.exitCode = EXIT.usage;
        return;
      }
      process.exitCode = await chaosKill(process.env, argv[2], write);
      return;
    case 'decommission':
      process.exitCode = await decommissionVerb(argv.slice(1), process.env, write, (l) => {
        process.stderr.write(l);
      });
      return;
    case 'config':
      for (const v of describeVariables())
        write(`${v.env}=${v.sensitive ? '<secret>' : String(v.default)}\n    ${v.doc}\n`);
      return;
    case 'version':
    case '--version':
      write(`${agentVersion()}\n`);
      return;
    case 'help':
    case '--help':
    case '-h':
      write(USAGE);
      return;
    default:
      process.stderr.write(`dockflare-agent: unknown verb '${verb}'\n${USAGE}`);
      process.exit(EXIT.usage);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`dockflare-agent: fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT.crash);
});
