/**
 * Workload identity end to end: a SIMULATED Kubernetes issuer (real HTTP discovery + JWKS, tokens shaped
 * like 1.34 projected tokens) — the only stand-in — and the real authz, authn (`--oidc-issuers`), registry
 * and skopeo. The setup is docs/workload-identity.md's, typed as a user types it: one role
 * `${labels:namespace}/**` and one pattern binding `system:serviceaccount:*`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { outDir, seedTeams, uniqueImage, useStack, REGISTRY_DENIED } from '../harness/fixture.js';
import { ROOT, run } from '../harness/procs.js';
import { SimulatedIssuer } from '../harness/simulated-issuer.js';
import { Skopeo } from '../harness/skopeo.js';
import { SERVICE, tollgate, type Stack } from '../harness/stack.js';

/** Runs `tollgate credential-provider` as the kubelet would: request on stdin, response on stdout. */
const credentialProvider = (args: string[], input: string) =>
  run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'credential-provider', ...args], { input });

describe('e2e: workload identity — SIMULATED Kubernetes issuer, real authn/authz/registry/skopeo', function () {
  this.timeout(180000);
  const issuer = new SimulatedIssuer('RS256');
  before(async () => {
    await issuer.start();
  });
  after(() => issuer.stop());

  const stack = useStack(
    ['skopeo'],
    { issuers: () => ({ issuers: [{ name: 'cluster-a', usernames: ['k8s'], issuer: issuer.url, audiences: [SERVICE], insecure: true }] }) },
    async (s: Stack) => {
      await seedTeams(s);
      const admin = ['--url', s.authzUrl, '--token-file', join(s.dir, 'admin.token')];
      await tollgate(['role', 'add', 'ns-pull', '--permission', '{"name":"${labels:namespace}/**","actions":["pull"]}', ...admin]);
      await tollgate(['binding', 'add', 'system:serviceaccount:*', 'ns-pull', ...admin]);
    },
  );
  const k8s = (token: string) => ({ user: 'k8s', password: token });

  it('a team-a pod token pulls team-a/app; the same token is denied team-b/app', async () => {
    const s = stack();
    const a = uniqueImage(s, 'wi-team-a');
    const b = uniqueImage(s, 'wi-team-b');
    assert.equal((await new Skopeo(s.home('alice')).push(a.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'))).code, 0);
    assert.equal((await new Skopeo(s.home('bob')).push(b.dir, 'v1', s.ref('team-b/app'), stack.creds('bob'))).code, 0);

    const token = await issuer.mint({ namespace: 'team-a', serviceAccount: 'builder', audiences: [SERVICE] });
    const pod = new Skopeo(s.home('pod-a'));
    const pull = await pod.pull(s.ref('team-a/app'), outDir(s, 'wi-a'), k8s(token));
    assert.equal(pull.code, 0, pull.out);
    assert.match(pull.out, new RegExp(a.layerDigest.replace('sha256:', '')));

    const mark = s.spy.requests.length;
    const denied = await pod.pull(s.ref('team-b/app'), outDir(s, 'wi-b'), k8s(token));
    assert.notEqual(denied.code, 0, 'a team-a token must not pull team-b/app');
    assert.match(denied.out, REGISTRY_DENIED);
    const asked = s.spy.since(mark).filter((r) => r.scopes.includes('repository:team-b/app:pull'));
    assert.ok(asked.length > 0 && asked.every((r) => r.status === 200 && r.granted.length === 0), JSON.stringify(asked));
  });

  it('the credential provider\'s output, fed to skopeo as credentials, pulls (SIMULATED kubelet request)', async () => {
    const s = stack();
    const token = await issuer.mint({ namespace: 'team-a', serviceAccount: 'default', pod: 'web-5f7c', audiences: [SERVICE] });
    const host = s.registry!.host;
    const request = { apiVersion: 'credentialprovider.kubelet.k8s.io/v1', kind: 'CredentialProviderRequest', image: `${host}/team-a/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} };
    const r = await credentialProvider(['--registry', host], JSON.stringify(request));
    assert.equal(r.code, 0, r.stderr);
    const auth = (JSON.parse(r.stdout) as { auth: Record<string, { username: string; password: string }> }).auth[host]!;
    assert.equal(auth.username, 'k8s');
    const pull = await new Skopeo(s.home('kubelet')).pull(s.ref('team-a/app'), outDir(s, 'wi-plugin'), { user: auth.username, password: auth.password });
    assert.equal(pull.code, 0, pull.out);
  });

  it('a wrong-audience token and an expired token pull nothing: authn answers 401', async () => {
    const s = stack();
    const now = Math.floor(Date.now() / 1000);
    const tokens = {
      'wrong audience': await issuer.mint({ namespace: 'team-a', audiences: ['https://kubernetes.default.svc.cluster.local'] }),
      expired: await issuer.mint({ namespace: 'team-a', audiences: [SERVICE], iat: now - 1200, ttl: 600 }),
    };
    for (const [what, token] of Object.entries(tokens)) {
      const mark = s.spy.requests.length;
      const pull = await new Skopeo(s.home(`bad-${what.replace(' ', '-')}`)).pull(s.ref('team-a/app'), outDir(s, 'wi-bad'), k8s(token));
      assert.notEqual(pull.code, 0, `${what}: must not pull`);
      assert.match(pull.out, /invalid username\/password|unauthorized/i, what);
      const reqs = s.spy.since(mark);
      assert.ok(reqs.length > 0 && reqs.every((q) => q.status === 401), `${what}: ${JSON.stringify(reqs)}`);
    }
  });

  it('the issuer rotates its key (new kid): logins keep working after exactly one JWKS refetch', async () => {
    const s = stack();
    // An unknown kid refetches at most once per 30 s cooldown: wait until the last fetch is that old.
    const last = Math.max(...issuer.requests.filter((q) => q.path === '/openid/v1/jwks').map((q) => q.at));
    const wait = last + 31_000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    issuer.rotate();
    const before = issuer.jwksFetches();
    for (const name of ['rot-1', 'rot-2']) {
      const token = await issuer.mint({ namespace: 'team-a', audiences: [SERVICE] });
      const pull = await new Skopeo(s.home(name)).pull(s.ref('team-a/app'), outDir(s, name), k8s(token));
      assert.equal(pull.code, 0, pull.out);
    }
    assert.equal(issuer.jwksFetches(), before + 1);
  });
});
