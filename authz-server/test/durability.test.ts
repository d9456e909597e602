/** An acknowledged admin write survives kill -9 of the real server process. */
import assert from 'node:assert/strict';
import axios from 'axios';
import { ADMIN, CLIENT, dbArg, ENGINES, spawnServer, tempDir, tokenFiles, type ServerProcess } from './helpers.js';

for (const engine of ENGINES) describe(`durability (${engine})`, () => {
  let t: ReturnType<typeof tempDir>;
  let server: ServerProcess | undefined;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(async () => {
    await server?.stop('SIGKILL');
    t.cleanup();
  });

  it('role and binding written, acknowledged, SIGKILL, restart: both are there and decide', async () => {
    const tok = tokenFiles(t.dir);
    const args = ['--db', await dbArg(engine, t.dir), '--admin-token-file', tok.admin, '--client-token-file', tok.client];
    server = await spawnServer(args);
    const adminH = { headers: { Authorization: `Bearer ${ADMIN}` } };
    const r1 = await axios.post(`${server.url}/add-role`, { name: 'ns-puller', permissions: { name: '${namespace}/**', actions: ['pull'] } }, adminH);
    assert.equal(r1.status, 201);
    const r2 = await axios.post(`${server.url}/add-role-binding`, { account_name: 'team-a-bot', role_name: 'ns-puller', namespace: 'team-a' }, adminH);
    assert.equal(r2.status, 201);
    // Acknowledged: kill without any chance to flush or close.
    process.kill(server.pid, 'SIGKILL');
    const code = await server.stop('SIGKILL');
    assert.equal(code, null);

    server = await spawnServer(args);
    const decision = await axios.post(
      `${server.url}/authorized`,
      { Account: 'team-a-bot', Type: 'repository', Name: 'team-a/app', Service: 'registry', IP: '127.0.0.1', Actions: ['pull'], Labels: null },
      { headers: { Authorization: `Bearer ${CLIENT}` } },
    );
    assert.deepEqual(decision.data, { allowed: true, actions: ['pull'] });
    const bindings = await axios.get(`${server.url}/bindings?account=team-a-bot`, adminH);
    assert.equal(bindings.data.bindings.length, 1);
  });
});
