/**
 * The commands that order the start-up — compose healthchecks and the Kubernetes init containers —
 * run for real against a live authz-server: they succeed once it is ready and keep failing/waiting
 * while nothing answers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startAuthz, type AuthzServer } from './helpers/authz.js';
import { deployment, render } from './helpers/k8s.js';
import { requireTool, run, ROOT, startProcess, tempDir } from './helpers/run.js';

const CLOSED = 'http://127.0.0.1:9';

describe('start-up ordering commands', () => {
  let dir: ReturnType<typeof tempDir>;
  let authz: AuthzServer;
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { healthcheck: { test: string[] } }>;
  };

  before(async () => {
    requireTool('wget', 'the registry init container is tested with wget (apt-get install wget)');
    dir = tempDir('readiness');
    authz = await startAuthz(dir.path);
  });
  after(async () => {
    await authz?.proc.stop();
    dir?.remove();
  });

  for (const [name, port] of [['authz', 5001], ['authn', 5002]] as const) {
    it(`compose ${name} healthcheck exits 0 on a ready server and 1 when nothing listens`, () => {
      const [kind, cmd, ...args] = compose.services[name]?.healthcheck.test ?? [];
      assert.equal(kind, 'CMD');
      assert.equal(cmd, 'node');
      const at = (base: string) => run(process.execPath, args.map((a) => a.replace(`http://127.0.0.1:${port}`, base)));
      // authn's /readyz has the same contract as authz's; a live authz stands in for it.
      assert.equal(at(authz.url).status, 0);
      assert.equal(at(CLOSED).status, 1);
    });
  }

  function initContainer(name: string) {
    const c = deployment(render('k8s'), name).spec?.template.spec?.initContainers?.[0];
    assert.ok(c?.command, `${name} init container`);
    return c.command;
  }

  for (const name of ['tollgate-authn', 'tollgate-registry']) {
    it(`${name} init container returns once /readyz answers 200`, () => {
      const [cmd, ...args] = initContainer(name);
      const res = run(cmd === 'node' ? process.execPath : (cmd ?? ''), args, { env: { PATH: process.env.PATH, WAIT_URL: `${authz.url}/readyz` } });
      assert.equal(res.status, 0, res.stderr + res.stdout);
    });

    it(`${name} init container keeps waiting (and says so) while the dependency is down`, async () => {
      const [cmd, ...args] = initContainer(name);
      const { proc } = await startProcess(cmd === 'node' ? process.execPath : (cmd ?? ''), args, (out) => (out.includes('waiting for') ? true : undefined), {
        env: { PATH: process.env.PATH, WAIT_URL: `${CLOSED}/readyz` },
        timeoutMs: 10_000,
      });
      assert.equal(proc.child.exitCode, null, 'still running');
      await proc.stop();
    });
  }
});
