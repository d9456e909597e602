/**
 * `tollgate authn serve` loads only what the server uses: the admin CLI commands registered in the
 * same binary must not pull axios (≈ 25 MB of RSS) into the token server, and a users-file-only server
 * loads none of the issuers (OIDC), Kubernetes Secrets (nor common/kube/) or robots backends. Checked on the real CLI
 * with an ESM loader hook that records every module the process loads.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import bcrypt from 'bcryptjs';
import { generateKeyFiles } from '../src/keys/generate.js';
import { basic, tempDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Runs the CLI with `args` and returns the packages (node_modules/<name>) it loaded. */
function packagesLoadedBy(dir: string, args: string[]): Set<string> {
  const out = join(dir, `loaded-${args[0]}.txt`);
  const r = spawnSync(process.execPath, recordingArgs(dir, out, args), {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 60_000,
  });
  assert.notEqual(r.status, null, `did not exit: ${r.stderr}`);
  const names = readFileSync(out, 'utf8').split('\n').map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((n): n is string => !!n);
  return new Set(names);
}

/** Node arguments that run the CLI with `args`, appending the URL of every module it loads to `out`. */
function recordingArgs(dir: string, out: string, args: string[]): string[] {
  writeFileSync(out, '');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, ctx, next) {\n  appendFileSync(${JSON.stringify(out)}, url + '\\n');\n  return next(url, ctx);\n}\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return ['--import', 'tsx', '--import', pathToFileURL(register).href, join(ROOT, 'cli', 'tollgate.ts'), ...args];
}

/** authn-server source files (credentials/…) and shared ones (common/…) in a list of loaded module URLs. */
const sourcesIn = (out: string): string[] =>
  readFileSync(out, 'utf8')
    .split('\n')
    .map((u) => {
      const m = /\/(authn-server\/src|common)\/(.+)\.ts$/.exec(u.split('?')[0]!);
      return m && (m[1] === 'common' ? `common/${m[2]}` : m[2]);
    })
    .filter((n): n is string => !!n);

describe('what `authn serve` loads', () => {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  it('the server and its dependencies, but not axios; an admin command does load it', () => {
    // A missing key file stops serve right after main.ts and everything it imports are loaded.
    const serve = packagesLoadedBy(tmp.dir, ['authn', 'serve', '--key', join(tmp.dir, 'missing.key'), '--cert', join(tmp.dir, 'missing.crt'), '--authz-url', 'http://127.0.0.1:1']);
    for (const used of ['jose', 'pino', 'prom-client', 'zod']) assert.ok(serve.has(used), `serve loads ${used} (${[...serve].join(', ')})`);
    assert.ok(!serve.has('axios'), 'authn serve must not load axios');
    const admin = packagesLoadedBy(tmp.dir, ['role', 'list', '--url', 'http://127.0.0.1:1']);
    assert.ok(admin.has('axios'), `the admin CLI loads axios when it runs (${[...admin].join(', ')})`);
  });

  it('a users-file-only server does not load the issuers, Kubernetes Secrets or robots backends until a robot logs in', async function () {
    this.timeout(60_000);
    const keys = generateKeyFiles(join(tmp.dir, 'keys'), { alg: 'ES256' });
    const users = join(tmp.dir, 'users.yaml');
    writeFileSync(users, `users:\n  alice:\n    password: ${JSON.stringify(bcrypt.hashSync('alice-pass', 4))}\n`);
    const out = join(tmp.dir, 'loaded-users-only.txt');
    // authz is unreachable: alice's login is checked (200 with no scope needs no authz), a robot's login answers 503.
    const args = ['authn', 'serve', '--listen', '127.0.0.1:0', '--key', keys.keyFile, '--cert', keys.certFile, '--users', users, '--authz-url', 'http://127.0.0.1:1'];
    const proc = spawn(process.execPath, recordingArgs(tmp.dir, out, args), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', TOLLGATE_LOG_LEVEL: 'info' } });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let log = '';
        const on = (d: Buffer) => {
          log += d.toString();
          const m = /"msg":"listening".*|.*"msg":"listening"/.exec(log)?.[0];
          const u = m && /"url":"(http:[^"]+)"/.exec(m)?.[1];
          if (u) resolve(u);
        };
        proc.stdout.on('data', on);
        proc.stderr.on('data', on);
        proc.once('exit', (code) => reject(new Error(`authn serve exited with ${code}:\n${log}`)));
      });
      const token = (user: string, password: string) => fetch(`${url}/auth?service=tollgate-registry`, { headers: { Authorization: basic(user, password) } });
      assert.equal((await token('alice', 'alice-pass')).status, 200);
      const loaded = sourcesIn(out);
      assert.ok(loaded.includes('credentials/files/users-file'), `the users-file backend is loaded (${loaded.join(', ')})`);
      for (const unused of ['credentials/oidc/', 'credentials/k8s-secrets/', 'credentials/robots', 'common/kube/']) {
        assert.deepEqual(
          loaded.filter((f) => f.startsWith(unused)),
          [],
          `a users-file-only server does not load ${unused}`,
        );
      }
      // The robots backend still answers its user names: loaded on the first one (authz down → 503, not a 401).
      assert.equal((await token('robot:team-a+ci', 'secret')).status, 503);
      assert.ok(sourcesIn(out).includes('credentials/robots'), 'a robot login loads the robots backend');
    } finally {
      proc.kill();
    }
  });
});
