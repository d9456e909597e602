/**
 * An admin regex with variables cannot block the event loop: the variables' real values are
 * cost-checked at decision time (predicted RE2 program size, without compiling), and a permission
 * whose substituted pattern would be too large simply does not match (fail closed).
 *
 * The time bound below is loose on purpose (shared machine): before this check, one such decision
 * compiled a 150 000-instruction program and took seconds.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { client, harness, req, type Harness } from './helpers.js';
import { matchTemplate, parseTemplate } from '../src/policy/pattern.js';

describe('regex variables: cost checked with real values', () => {
  let h: Harness;
  beforeEach(async () => (h = await harness()));
  afterEach(() => h.close());

  it('`/(?:${labels:team}){300}/` with 512-character label values: denied quickly, not seconds of CPU', async () => {
    await h.store.putRole('rep', [{ name: '/(?:${labels:team}){300}/', actions: ['pull'] }]);
    await h.store.addBinding({ account_name: 'alice', role_name: 'rep' });
    const values = Array.from({ length: 4 }, (_, i) => `${'abcdefgh'.repeat(63)}${i}xyzwvu`.slice(0, 512));
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) {
      const res = await request(h.app).post('/authorized').set(client).send(req({ Name: 'team-a/app', Labels: { team: values.map((v) => v + i) } }));
      assert.equal(res.status, 403);
      assert.deepEqual(res.body.actions, []);
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `three decisions took ${ms.toFixed(0)} ms`);
  });

  it('ordinary variables with long values still match (`/${labels:team}-.*/`, `/${account}(?:-[a-z]+)?/`)', () => {
    const long = 'a'.repeat(512);
    assert.equal(matchTemplate(parseTemplate('/${labels:team}-.*/'), `${long}-app`, { labels: { team: [long] } }), true);
    assert.equal(matchTemplate(parseTemplate('/${account}(?:-[a-z]+)?/'), `${'b'.repeat(500)}-ci`, { account: 'b'.repeat(500) }), true);
    const many = Array.from({ length: 64 }, (_, i) => `team-${i}`);
    assert.equal(matchTemplate(parseTemplate('/(?:${labels:team})/.*/'), 'team-63/app', { labels: { team: many } }), true);
  });

  it('the same repetition with short values is fine; past the budget the permission does not match', () => {
    const tpl = parseTemplate('/(?:${labels:team}){300}/');
    assert.equal(matchTemplate(tpl, 'ab'.repeat(300), { labels: { team: ['ab'] } }), true, '300 × 2 characters: within budget');
    assert.equal(matchTemplate(tpl, 'abcdefghij'.repeat(300), { labels: { team: ['abcdefghij'] } }), false, '300 × 10 characters: over budget, never matches');
  });
});
