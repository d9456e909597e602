/** A bearer token's grant against a request's scopes (authorize.ts): `*` covers everything asked, optional scopes never block, extra actions ride along only when granted. */
import assert from 'node:assert/strict';
import { authorize } from '../src/authorize.js';
import type { NeededScope } from '../src/route.js';

const never = async (): Promise<never> => {
  throw new Error('a bearer caller must not reach authz');
};
const bearer = (access: Array<{ type: string; name: string; actions: string[] }>) => ({ via: 'bearer' as const, account: 'alice', access });
const ctx = { service: 'reg', ip: '127.0.0.1' };

describe('proxy: grant of a bearer token', () => {
  const push: NeededScope = { type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] };

  it('exactly the asked actions the token holds; nothing wider goes upstream', async () => {
    const g = await authorize(never, bearer([{ type: 'repository', name: 'team-a/app', actions: ['delete', 'pull', 'push'] }]), [push], ctx);
    assert.deepEqual(g, { access: [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }], missing: [], optionalMissing: [] });
  });

  it('a token short of one needed action is missing the scope (and grants nothing for it)', async () => {
    const g = await authorize(never, bearer([{ type: 'repository', name: 'team-a/app', actions: ['pull'] }]), [push], ctx);
    assert.deepEqual(g.missing, [push]);
    assert.deepEqual(g.access, []);
  });

  it('"*" covers every action asked, extras included; a token for another name covers nothing', async () => {
    const cancel: NeededScope = { ...push, extra: ['delete'] };
    const g = await authorize(never, bearer([{ type: 'repository', name: 'team-a/app', actions: ['*'] }]), [cancel], ctx);
    assert.deepEqual(g.access, [{ type: 'repository', name: 'team-a/app', actions: ['delete', 'pull', 'push'] }]);
    const other = await authorize(never, bearer([{ type: 'repository', name: 'team-a/app2', actions: ['*'] }]), [push], ctx);
    assert.deepEqual(other.missing, [push]);
  });

  it('an optional mount source the token cannot read is reported, not a refusal', async () => {
    const source: NeededScope = { type: 'repository', name: 'team-b/base', actions: ['pull'], optional: true };
    const g = await authorize(never, bearer([{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]), [push, source], ctx);
    assert.deepEqual(g.missing, []);
    assert.deepEqual(g.optionalMissing, [source]);
    assert.deepEqual(g.access.map((a) => a.name), ['team-a/app']);
  });
});
