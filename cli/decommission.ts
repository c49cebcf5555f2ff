/**
 * `dockflare-agent decommission status|clear`: what the tombstone says, and its removal when an operator reuses the
 * host. Needs only where the file is (DECOMMISSION_TOMBSTONE_PATH, else AGENT_DATA_DIR/decommission.json), not a
 * master: a decommissioned agent's key is revoked anyway.
 */
import path from 'node:path';
import { EXIT } from '../agent/exit-codes.js';
import { readTombstone, removeTombstone } from '../persistence/tombstone.js';

const DEFAULT_DATA_DIR = '/app/data';

export function tombstonePath(env: NodeJS.ProcessEnv): string {
  const explicit = env.DECOMMISSION_TOMBSTONE_PATH?.trim();
  if (explicit) return explicit;
  return path.join(env.AGENT_DATA_DIR?.trim() || DEFAULT_DATA_DIR, 'decommission.json');
}

const CLEAR_WARNING = `The master removed this agent: its record is deleted and its key revoked. Clearing the tombstone
lets the agent start again; it then needs a new key (DOCKFLARE_API_KEY) and registers as a new agent. The stopped
dockflare-agent-tunnel container is left as it is: remove it with \`docker rm dockflare-agent-tunnel\`.
`;

export async function decommissionVerb(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const file = tombstonePath(env);
  const [action, ...rest] = args;
  if (action === 'status' && rest.length === 0) {
    const read = await readTombstone(file);
    if (read.kind === 'none') {
      out(`no tombstone at ${file}: this agent is not being decommissioned\n`);
      return EXIT.ok;
    }
    if (read.kind === 'unreadable') {
      err(`dockflare-agent: ${file} cannot be used (${read.reason}); the agent stays silent while it is there\n`);
      return EXIT.noInput;
    }
    const t = read.tombstone;
    const lifecycle = t.phase === 'finalized' ? 'decommissioned' : 'prepared';
    out(
      `${file}\n  lifecycle     ${lifecycle}\n  operation     ${t.operationId}\n  agent         ${t.agentId}\n` +
        `  prepared at   ${t.preparedAt}\n  finalized at  ${t.finalizedAt ?? '-'}\n`,
    );
    return EXIT.ok;
  }
  if (action === 'clear' && (rest.length === 0 || (rest.length === 1 && rest[0] === '--yes'))) {
    if (rest[0] !== '--yes') {
      err(`${CLEAR_WARNING}Nothing was changed. Run \`dockflare-agent decommission clear --yes\` to remove ${file}.\n`);
      return EXIT.usage;
    }
    const removed = await removeTombstone(file);
    out(removed ? `removed ${file}\n${CLEAR_WARNING}` : `no tombstone at ${file}; nothing to clear\n`);
    return EXIT.ok;
  }
  err('usage: dockflare-agent decommission status | decommission clear [--yes]\n');
  return EXIT.usage;
}
