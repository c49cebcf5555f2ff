import { expect } from 'chai';
import { agentIdProblem, MAX_AGENT_ID_LENGTH } from '../../../domain/identity.js';
import { decodeRegisterReply } from '../../../master/decoders.js';
import { decodeAgentId } from '../../../persistence/formats.js';

const HOSTILE = ['..', '.', 'a/b', '../etc', 'a\\b', 'x\u0007y', 'new\nline', '\u0085', 'bad\ufffd', 'a'.repeat(1025)];

describe('domain/identity: what an agent id may be', () => {
  it('accepts what masters and the original agent write: UUIDs, other UTF-8 text, up to the limit', () => {
    for (const id of ['3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12', 'nas-01', 'agent é 1', 'a'.repeat(MAX_AGENT_ID_LENGTH)])
      expect(agentIdProblem(id), id).to.equal(null);
  });

  it('refuses control characters, bytes that were not UTF-8, path segments and oversize ids', () => {
    for (const id of HOSTILE) expect(agentIdProblem(id), JSON.stringify(id)).to.be.a('string');
  });

  it('refuses them at decoding the master reply, so that nothing unreadable is ever stored', () => {
    for (const id of HOSTILE) {
      const decoded = decodeRegisterReply({ status: 'success', agent_id: id, protocol_version: 1 });
      expect(decoded.ok, JSON.stringify(id)).to.equal(false);
    }
  });

  it('refuses the same ids in agent_id.txt, by the same rule', () => {
    for (const id of HOSTILE.filter((i) => i.trim() === i))
      expect(decodeAgentId(id).ok, JSON.stringify(id)).to.equal(false);
  });
});
