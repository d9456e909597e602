/**
 * The controller's decisions as plain functions, no API server: spec validation (every bad input names
 * its field), the Secret it writes, when it rotates, the Ready condition, MicroTime.
 */
import assert from 'node:assert/strict';
import { desiredSecret, ownedBy, readCredential } from '../src/decide/secret.js';
import { globMatch, validateSpec, type SpecPolicy } from '../src/decide/spec.js';
import { microTime, robotSchedule, tokenRefreshAt } from '../src/decide/schedule.js';
import { readyCondition, sameStatus } from '../src/decide/status.js';

const policy: SpecPolicy = { maxExpiration: 86400, pushAllowed: (ns) => ns.startsWith('team-') };
const check = (spec: unknown, name = 'ci', ns = 'team-a') => validateSpec(spec, ns, name, policy);

describe('controller decisions: RegistryCredential spec', () => {
  it('a Robot spec gets its defaults: actions [pull], secretName <name>-registry, rotateEvery 24h, overlap 1h', () => {
    const r = check({ type: 'Robot' });
    assert.deepEqual(r, { ok: true, spec: { type: 'Robot', actions: ['pull'], secretName: 'ci-registry', rotateEvery: 86400, overlap: 3600, serviceAccounts: [] } });
  });

  it('a ServiceAccountToken spec gets expirationSeconds 3600', () => {
    const r = check({ type: 'ServiceAccountToken', serviceAccountName: 'builder', serviceAccounts: ['default'] });
    assert.deepEqual(r, { ok: true, spec: { type: 'ServiceAccountToken', secretName: 'ci-registry', serviceAccountName: 'builder', expirationSeconds: 3600, serviceAccounts: ['default'] } });
  });

  const refused: Array<[string, unknown, string, string?, string?]> = [
    ['unknown type', { type: 'Password' }, 'spec.type'],
    ['actions outside pull/push', { type: 'Robot', actions: ['pull', 'delete'] }, 'spec.actions'],
    ['push without pull', { type: 'Robot', actions: ['push'] }, 'spec.actions'],
    ['push in a namespace outside --allow-push', { type: 'Robot', actions: ['pull', 'push'] }, 'spec.actions', 'ci', 'prod'],
    ['rotateEvery below 10s', { type: 'Robot', rotateEvery: '9s' }, 'spec.rotateEvery'],
    ['rotateEvery not a duration', { type: 'Robot', rotateEvery: 'soon' }, 'spec.rotateEvery'],
    ['overlap ≥ rotateEvery', { type: 'Robot', rotateEvery: '20s', overlap: '20s' }, 'spec.overlap'],
    ['overlap beyond authz\'s 30-day cap', { type: 'Robot', rotateEvery: '90d', overlap: '31d' }, 'spec.overlap'],
    ['expirationSeconds below 600', { type: 'ServiceAccountToken', serviceAccountName: 'b', expirationSeconds: 599 }, 'spec.expirationSeconds'],
    ['expirationSeconds beyond the issuer\'s maxLifetime', { type: 'ServiceAccountToken', serviceAccountName: 'b', expirationSeconds: 86401 }, 'spec.expirationSeconds'],
    ['ServiceAccountToken without serviceAccountName', { type: 'ServiceAccountToken' }, 'spec.serviceAccountName'],
    ['a name that makes an invalid robot name', { type: 'Robot' }, 'metadata.name', 'ci.builds'],
    ['a secretName that is not a Secret name', { type: 'Robot', secretName: 'Bad_Name' }, 'spec.secretName'],
    ['serviceAccounts not names', { type: 'Robot', serviceAccounts: ['ok', 'NO!'] }, 'spec.serviceAccounts'],
    ['no spec at all', undefined, 'spec'],
  ];
  for (const [what, spec, field, name, ns] of refused) {
    it(`refuses ${what}, naming ${field}`, () => {
      const r = check(spec, name, ns);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.field, field);
        assert.ok(r.message.startsWith(field), r.message);
      }
    });
  }

  it('--allow-push globs: * matches any run, anything else is literal', () => {
    assert.ok(globMatch('*', 'anything'));
    assert.ok(globMatch('team-*', 'team-a'));
    assert.ok(globMatch('*-ci', 'build-ci'));
    assert.ok(globMatch('a*b*c', 'aXbYc'));
    assert.ok(!globMatch('team-*', 'prod'));
    assert.ok(!globMatch('a*b*c', 'acb'));
    assert.ok(!globMatch('team-a', 'team-ab'));
  });
});

describe('controller decisions: the Secret', () => {
  const owner = { name: 'ci', namespace: 'team-a', uid: 'uid-1' };
  it('is a dockerconfigjson Secret keyed by the registry host, with username, password and auth, owned by the CR', () => {
    const s = desiredSecret(owner, 'ci-registry', 'registry.example.com', 'robot:team-a+ci', 'tgr_x');
    assert.equal(s.type, 'kubernetes.io/dockerconfigjson');
    assert.equal(s.metadata.namespace, 'team-a');
    const cfg = JSON.parse(Buffer.from(s.data['.dockerconfigjson']!, 'base64').toString()) as { auths: Record<string, Record<string, string>> };
    assert.deepEqual(cfg.auths['registry.example.com'], { username: 'robot:team-a+ci', password: 'tgr_x', auth: Buffer.from('robot:team-a+ci:tgr_x').toString('base64') });
    assert.ok(ownedBy(s, 'uid-1'));
    assert.ok(!ownedBy(s, 'uid-2'), 'another CR of the same name (re-created) does not own it');
    assert.deepEqual(readCredential(s, 'registry.example.com'), { username: 'robot:team-a+ci', password: 'tgr_x' });
    assert.equal(readCredential(s, 'other.example.com'), undefined);
  });

  it('is read back the way authn reads a .dockerconfigjson (common/docker-config.ts): an `auth`-only entry counts, a value no login could use does not', () => {
    const secret = (auths: unknown, raw?: string) => ({ data: { '.dockerconfigjson': raw ?? Buffer.from(JSON.stringify({ auths })).toString('base64') } });
    // `auth` splits at the first colon, as docker does (a robot's user name has one: the entry also has username).
    const auth = Buffer.from('k8s:eyJ.token').toString('base64');
    assert.deepEqual(readCredential(secret({ 'registry.example.com': { auth } }), 'registry.example.com'), { username: 'k8s', password: 'eyJ.token' });
    assert.equal(readCredential(secret({ 'registry.example.com': { username: 'robot:team-a+ci', password: 'tgr\n' } }), 'registry.example.com'), undefined, 'a control character');
    assert.equal(readCredential(secret({ 'registry.example.com': { username: '', password: 'tgr_x' } }), 'registry.example.com'), undefined, 'an empty user name');
    assert.equal(readCredential(secret(undefined, 'not base64!'), 'registry.example.com'), undefined);
    assert.equal(readCredential({ data: {} }, 'registry.example.com'), undefined);
  });

  it('a Secret without the controller ownerReference is not ours', () => {
    assert.ok(!ownedBy({ metadata: { ownerReferences: [{ uid: 'uid-1', kind: 'RegistryCredential' }] } }, 'uid-1'), 'controller: true is required');
    assert.ok(!ownedBy({ metadata: {} }, 'uid-1'));
  });
});

describe('controller decisions: schedule and status', () => {
  const t0 = Date.parse('2026-12-06T10:00:00Z');
  it('rotates at once when it never rotated, otherwise rotateEvery after the last rotation', () => {
    assert.deepEqual(robotSchedule(t0, undefined, 60), { due: true, next: t0 + 60_000 });
    assert.deepEqual(robotSchedule(t0 + 30_000, t0, 60), { due: false, next: t0 + 60_000 });
    assert.equal(robotSchedule(t0 + 60_000, t0, 60).due, true);
  });

  it('a restart long after the last rotation rotates once, then every period from now', () => {
    const r = robotSchedule(t0 + 10 * 86400_000, t0, 86400);
    assert.deepEqual(r, { due: true, next: t0 + 11 * 86400_000 });
  });

  it('tokens are refreshed at 80 % of their lifetime, and before the issuer\'s maxTokenAge', () => {
    assert.equal(tokenRefreshAt(t0, t0 + 3600_000, 86400), t0 + 2880_000);
    assert.equal(tokenRefreshAt(t0, t0 + 86400_000, 3600), t0 + 2880_000, 'a 24 h token is refreshed before it is 1 h old');
  });

  it('MicroTime has exactly six fractional digits', () => {
    assert.equal(microTime(Date.parse('2026-12-06T10:00:00.123Z')), '2026-12-06T10:00:00.123000Z');
  });

  it('Ready keeps its lastTransitionTime while its status does not change, so an unchanged outcome writes nothing', () => {
    const first = readyCondition(undefined, { ready: false, reason: 'InvalidSpec', message: 'spec.type: x' }, 1, t0);
    const again = readyCondition({ conditions: [first] }, { ready: false, reason: 'InvalidSpec', message: 'spec.type: x' }, 1, t0 + 5000);
    assert.equal(again.lastTransitionTime, first.lastTransitionTime);
    assert.ok(sameStatus({ conditions: [first] }, { conditions: [again] }));
    const ok = readyCondition({ conditions: [first] }, { ready: true }, 2, t0 + 9000);
    assert.equal(ok.status, 'True');
    assert.equal(ok.lastTransitionTime, '2026-12-06T10:00:09Z');
  });
});
