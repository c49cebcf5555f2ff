import { expect } from 'chai';
import { type TestMaster } from '../../master/index.js';
import { masterCalls } from '../../helpers/master-calls.js';

describe('spec/master: the test master, commands', () => {
  let master!: TestMaster;
  let key!: string;
  const { start, register, poll } = masterCalls({
    get: () => ({ master, key }),
    set: (m, k) => {
      master = m;
      key = k;
    },
  });

  for (const mode of ['v1', 'v2'] as const) {
    it(`${mode}: delivers the queue once, clears it on read and answers 404 for an unknown agent`, async () => {
      await start(mode);
      const id = (await register({ agent_id: '3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12' })).json as { agent_id: string };
      master.queueCommand(id.agent_id, { action: 'stop_tunnel' });
      master.queueCommand(id.agent_id, { action: 'update_tunnel_config', rules: {} });
      const first = await poll(id.agent_id);
      expect(first.status).to.equal(200);
      expect(first.json).to.deep.equal({
        status: 'success',
        commands: [{ action: 'stop_tunnel' }, { action: 'update_tunnel_config', rules: {} }],
      });
      expect((await poll(id.agent_id)).json).to.deep.equal({ status: 'success', commands: [] });
      const unknown = await poll('00000000-0000-4000-8000-000000000000');
      expect(unknown.status).to.equal(404);
      expect(unknown.json).to.deep.equal({ status: 'error', message: 'Agent not found.' });
      expect((await poll(id.agent_id, master.generateKey())).status).to.equal(403);
    });
  }
});
