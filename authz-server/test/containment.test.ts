/**
 * policy/containment.ts: which roles a namespace-scoped token may bind — only those whose every
 * permission, with ${namespace} set, can match nothing but repositories under `<namespace>/`.
 */
import assert from 'node:assert/strict';
import { roleContainedIn } from '../src/policy/containment.js';
import { compilePermission, type Permission } from '../src/policy/permission.js';
import { matchTemplate } from '../src/policy/pattern.js';

const p = (name: string | undefined, extra: Partial<Permission> = {}): Permission => ({ ...(name !== undefined ? { name } : {}), actions: ['pull'], ...extra });
const contained = (perms: Permission[], ns = 'team-a') => roleContainedIn(perms, ns).contained;

describe('role containment in a namespace (bindings by scoped tokens)', () => {
  it('accepts names fixed under <namespace>/', () => {
    for (const name of ['${namespace}/**', '${namespace}/*', 'team-a/app', 'team-a/**', '${namespace}/${account}/**', 'team-a/?pp', '/team-a\\/.*/', '/${namespace}\\/(app|web)/', '/team-a/[a-z]+/', '${namespace}/${labels:x}']) {
      assert.equal(contained([p(name)]), true, name);
    }
  });

  it('refuses what can match elsewhere', () => {
    const refused = [
      '**', '*', 'shared/**', '${labels:team}/**', '${account}/**', '${namespace}**', '${namespace}*', '${namespace}-x/**', '${namespace}',
      'team-*/**', 'team-a', '/.*/', '/team-a\\/x|.*/', '/team-a\\/?.*/', '/te*am-a\\/.*/', '/(?i)team-a\\/.*/', '/team-a.*/', '/[t]eam-a\\/.*/',
      '/${labels:ns}\\/.*/', '/team-a\\/x|y/',
    ];
    for (const name of refused) assert.equal(contained([p(name)]), false, name);
  });

  it('refuses a permission without a name and any request type but repository', () => {
    assert.equal(contained([p(undefined)]), false);
    const c = roleContainedIn([p('team-a/**'), p('catalog', { request_type: 'registry' })], 'team-a');
    assert.deepEqual(c.contained ? null : [c.index, /request_type "registry"/.test(c.reason)], [1, true]);
    assert.equal(contained([p('team-a/**', { request_type: 'repository' })]), true);
    assert.equal(contained([p('team-a/**', { request_type: '*' })]), false);
  });

  it('one escaping permission is enough to refuse, and it is named', () => {
    const c = roleContainedIn([p('${namespace}/**'), p('shared/**')], 'team-a');
    assert.equal(c.contained, false);
    if (!c.contained) {
      assert.equal(c.index, 1);
      assert.match(c.reason, /"shared\/\*\*" can match repositories outside "team-a\/"/);
    }
  });

  it('the same role is contained in one namespace and not in another', () => {
    assert.equal(contained([p('team-a/app')], 'team-a'), true);
    assert.equal(contained([p('team-a/app')], 'team-b'), false);
  });

  it('accepted patterns really match only under the namespace (spot check against the matcher)', () => {
    const names = ['team-a/app', 'team-a/x/y', 'team-ab/app', 'team-b/app', 'shared/base', 'team-a', 'TEAM-A/app'];
    for (const pattern of ['${namespace}/**', '/team-a\\/.*/', '/${namespace}\\/(app|web)/', 'team-a/?pp']) {
      assert.equal(contained([p(pattern)]), true, pattern);
      const tpl = compilePermission(p(pattern)).name!;
      for (const n of names) if (matchTemplate(tpl, n, { namespace: 'team-a', account: 'x', labels: null })) assert.ok(n.startsWith('team-a/'), `${pattern} matched ${n}`);
    }
  });
});
