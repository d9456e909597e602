/**
 * `tollgate credential-provider`, the kubelet exec plugin (KEP-4412): the stdin/stdout contract, the
 * cacheDuration rules and the exit codes. The kubelet is SIMULATED (a request written as the kubelet 1.34
 * writes it, with a token from the SIMULATED issuer); the plugin runs as the real command.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_VERSION, goDuration, respond } from '../../cli/credential-provider/plugin.js';
import { SimulatedIssuer } from '../../e2e/harness/simulated-issuer.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const opts = { registries: ['registry.example.com'], username: 'k8s' };
const request = (token?: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: API_VERSION, kind: 'CredentialProviderRequest', image: 'registry.example.com/team-a/app:1.2', ...(token ? { serviceAccountToken: token } : {}), serviceAccountAnnotations: {}, ...over });
const jwtWithExp = (exp?: number) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(exp === undefined ? { sub: 'x' } : { exp })).toString('base64url')}.c2ln`;

/**
 * Runs the plugin as a process: `tollgate credential-provider` (`viaTollgate`), or the entry of the single
 * executable (cli/credential-provider/sea-main.ts: the same flags and code, loads in a fraction of the time).
 */
function plugin(args: string[], input: string, viaTollgate = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const entry = viaTollgate ? [join(ROOT, 'cli', 'tollgate.ts'), 'credential-provider'] : [join(ROOT, 'cli', 'credential-provider', 'sea-main.ts')];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', ...entry, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

describe('credential provider (kubelet exec plugin)', () => {
  describe('cacheDuration = exp − now − 2 min, at most 10 min, never negative', () => {
    const now = 1_800_000_000;
    const cache = (exp?: number) => respond(request(jwtWithExp(exp)), opts, now).cacheDuration;
    it('a token valid 10 more minutes is cached 8 minutes', () => assert.equal(cache(now + 600), '8m0s'));
    it('a kubelet token valid 1 h is cached 10 minutes at most', () => assert.equal(cache(now + 3600), '10m0s'));
    it('2 min 59 s left → 59 s; less than 2 min left → 0s, not negative', () => {
      assert.equal(cache(now + 179), '59s');
      assert.equal(cache(now + 60), '0s');
      assert.equal(cache(now - 60), '0s');
    });
    it('no exp → 0s (do not cache what we cannot date)', () => assert.equal(cache(undefined), '0s'));
    it('Go duration text', () => assert.deepEqual([0, 1, 60, 61, 599, 600].map(goDuration), ['0s', '1s', '1m0s', '1m1s', '9m59s', '10m0s']));
  });

  describe('the command, as the kubelet runs it (SIMULATED kubelet request)', () => {
    let issuer: SimulatedIssuer;
    before(async () => {
      issuer = await new SimulatedIssuer().start();
    });
    after(() => issuer.stop());

    it('tollgate credential-provider prints a CredentialProviderResponse: each registry → {username: k8s, password: the token}, cacheKeyType Registry', async () => {
      const token = await issuer.mint({ namespace: 'team-a', pod: 'app-1', ttl: 3600 });
      const r = await plugin(['--registry', 'registry.example.com', '--registry', 'mirror.example.com:5000'], request(token), true);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.deepEqual(JSON.parse(r.stdout), {
        apiVersion: API_VERSION,
        kind: 'CredentialProviderResponse',
        cacheKeyType: 'Registry',
        cacheDuration: '10m0s',
        auth: { 'registry.example.com': { username: 'k8s', password: token }, 'mirror.example.com:5000': { username: 'k8s', password: token } },
      });
    });

    it('no serviceAccountToken in the request → auth {} and exit 0', async () => {
      const r = await plugin(['--registry', 'registry.example.com', '--username', 'cluster-a'], request());
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).auth, {});
    });

    it('malformed input, another apiVersion, another kind → exit 1, one line on stderr, nothing on stdout', async () => {
      const cases: Array<[string, RegExp]> = [
        ['{"apiVersion":', /stdin is not a JSON CredentialProviderRequest/],
        [request('a.b.c', { apiVersion: 'credentialprovider.kubelet.k8s.io/v1alpha1' }), /apiVersion "credentialprovider.kubelet.k8s.io\/v1alpha1" is not supported/],
        [request('a.b.c', { kind: 'CredentialProviderResponse' }), /kind "CredentialProviderResponse" is not CredentialProviderRequest/],
        [request('not-a-jwt'), /serviceAccountToken is not a JWT/],
      ];
      const results = await Promise.all(cases.map(([input]) => plugin(['--registry', 'registry.example.com'], input)));
      results.forEach((r, i) => {
        assert.equal(r.code, 1, `case ${i}`);
        assert.equal(r.stdout, '', `case ${i}: nothing on stdout`);
        assert.match(r.stderr, cases[i]![1]);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line');
      });
    });

    it('tollgate credential-provider without --registry exits 2', async () => {
      const r = await plugin([], request(), true);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /at least one --registry/);
      assert.equal(r.stdout, '');
    });

    it('a wildcard --registry is refused (exit 2) unless --allow-wildcard-registry: the token would go to every matching host', async () => {
      const token = await issuer.mint({ namespace: 'team-a', ttl: 3600 });
      const [plain, viaTollgate, allowed] = await Promise.all([
        plugin(['--registry', '*.example.com'], request(token)),
        plugin(['--registry', 'registry.example.com', '--registry', '*.example.com'], request(token), true),
        plugin(['--registry', '*.example.com', '--allow-wildcard-registry'], request(token)),
      ]);
      for (const r of [plain, viaTollgate]) {
        assert.equal(r.code, 2);
        assert.match(r.stderr, /"\*\.example\.com" is a wildcard.*--allow-wildcard-registry/);
        assert.equal(r.stdout, '', 'no token handed out');
      }
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.deepEqual(JSON.parse(allowed.stdout).auth, { '*.example.com': { username: 'k8s', password: token } });
    });

    it('bad flags exit 2: no --registry, a URL with a scheme, the user name <token>', async () => {
      const results = await Promise.all([[], ['--registry', 'https://registry.example.com'], ['--registry', 'r.example', '--username', '<token>']].map((a) => plugin(a, request())));
      assert.deepEqual(results.map((r) => r.code), [2, 2, 2]);
      assert.match(results[0]!.stderr, /at least one --registry/);
      assert.match(results[1]!.stderr, /without a scheme/);
      assert.match(results[2]!.stderr, /not "<token>"/);
      assert.ok(results.every((r) => r.stdout === ''));
    });
  });
});
