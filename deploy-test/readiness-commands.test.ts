/**
 * The commands that order the start-up — compose healthchecks and the Kubernetes init containers —
 * run for real against a live authz-server and authn-server: they succeed once the dependency is
 * ready and keep failing/waiting while nothing answers or the dependency is up but not ready.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startAuthz, type AuthzServer } from './helpers/authz.js';
import { deployment, render } from './helpers/k8s.js';
import { requireTool, run, ROOT, startProcess, tempDir, type Proc } from './helpers/run.js';

const CLOSED = 'http://127.0.0.1:9';

/** authn-server with gen-certs.sh material, the compose/k8s flags, pointed at `authzUrl`. */
async function startAuthn(certs: string, authzUrl: string, tokenFile: string): Promise<{ proc: Proc; url: string }> {
  const args = ['--import', 'tsx', 'cli/tollgate.ts', 'authn', 'serve', '--listen', '127.0.0.1:0', '--authz-url', authzUrl,
    '--authz-token-file', tokenFile, '--key', join(certs, 'token.key'), '--cert', join(certs, 'token.crt'), '--users', join(certs, 'users.yaml')];
  const { proc, value } = await startProcess(process.execPath, args, (out) => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1]);
  return { proc, url: value };
}

describe('start-up ordering commands', () => {
  let dir: ReturnType<typeof tempDir>;
  let authz: AuthzServer;
  let authn: { proc: Proc; url: string };
  let orphan: { proc: Proc; url: string };
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { healthcheck: { test: string[] } }>;
  };

  before(async function () {
    this.timeout(60_000);
    requireTool('wget', 'the registry init container is tested with wget (apt-get install wget)');
    dir = tempDir('readiness');
    const certs = join(dir.path, 'certs');
    assert.equal(run('bash', [join(ROOT, 'scripts', 'gen-certs.sh'), '--out', certs]).status, 0);
    writeFileSync(join(certs, 'users.yaml'), 'users: {}\n');
    authz = await startAuthz(dir.path);
    authn = await startAuthn(certs, authz.url, authz.clientTokenFile);
    // An authn whose authz is not there: up, but must not count as healthy/ready.
    orphan = await startAuthn(certs, CLOSED, authz.clientTokenFile);
  });
  after(async () => {
    await Promise.all([authz?.proc.stop(), authn?.proc.stop(), orphan?.proc.stop()]);
    dir?.remove();
  });

  const healthcheck = (name: string, port: number, base: string) => {
    const [kind, cmd, ...args] = compose.services[name]?.healthcheck.test ?? [];
    assert.equal(kind, 'CMD');
    // node is what the runtime image has (node:20-bookworm-slim ships neither curl nor wget).
    assert.equal(cmd, 'node');
    return run(process.execPath, args.map((a) => a.replace(`http://127.0.0.1:${port}`, base))).status;
  };

  it('compose authz healthcheck exits 0 on a ready authz-server and 1 when nothing listens', () => {
    assert.equal(healthcheck('authz', 5001, authz.url), 0);
    assert.equal(healthcheck('authz', 5001, CLOSED), 1);
  });

  it('compose authn healthcheck exits 0 on a ready authn-server, 1 on one that cannot reach authz, 1 when nothing listens', () => {
    assert.equal(healthcheck('authn', 5002, authn.url), 0);
    assert.equal(healthcheck('authn', 5002, orphan.url), 1, 'registry must not start while authn has no authz');
    assert.equal(healthcheck('authn', 5002, CLOSED), 1);
  });

  function initContainer(name: string) {
    const c = deployment(render('k8s'), name).spec?.template.spec?.initContainers?.[0];
    assert.ok(c?.command, `${name} init container`);
    return c.command;
  }

  // The registry image's init container runs busybox sh + wget; the host's sh + GNU wget stand in for them.
  const targets = { 'tollgate-authn': () => authz.url, 'tollgate-registry': () => authn.url } as const;
  for (const [name, ready] of Object.entries(targets)) {
    const how = name === 'tollgate-registry' ? ' (host sh + GNU wget stand in for the image\'s busybox)' : ' (host node 20, as in the image)';
    it(`${name} init container returns once its dependency's /readyz answers 200${how}`, () => {
      const [cmd, ...args] = initContainer(name);
      const res = run(cmd === 'node' ? process.execPath : (cmd ?? ''), args, { env: { PATH: process.env.PATH, WAIT_URL: `${ready()}/readyz` } });
      assert.equal(res.status, 0, res.stderr + res.stdout);
    });

    it(`${name} init container keeps waiting (and says so) while the dependency is down or not ready${how}`, async () => {
      const [cmd, ...args] = initContainer(name);
      // The registry waits on authn: an authn without authz answers 503 and must keep it waiting.
      for (const url of name === 'tollgate-registry' ? [CLOSED, orphan.url] : [CLOSED]) {
        const { proc } = await startProcess(cmd === 'node' ? process.execPath : (cmd ?? ''), args, (out) => (out.includes('waiting for') ? true : undefined), {
          env: { PATH: process.env.PATH, WAIT_URL: `${url}/readyz` },
          timeoutMs: 10_000,
        });
        assert.equal(proc.child.exitCode, null, 'still running');
        await proc.stop();
      }
    });
  }
});
