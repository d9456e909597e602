/**
 * The suite's own promises, checked by running fixture scenarios in a child mocha: a missing client
 * is a skip with the install command locally and a failure under CI=true; a scenario that fails (in
 * a test or in its seed) still has every process it started stopped and its temp dir removed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL, requireBins } from '../harness/fixture.js';
import { alive, ROOT, run, tempDir } from '../harness/procs.js';

interface MochaJson {
  stats: { passes: number; failures: number; pending: number };
  pending: Array<{ fullTitle: string }>;
  failures: Array<{ fullTitle: string; err: { message?: string } }>;
}

async function mocha(fixture: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; json: MochaJson; out: string }> {
  const r = await run(process.execPath, [join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--reporter', 'json', '--timeout', '120000', '--exit', join(ROOT, 'e2e', 'fixtures', fixture)], {
    env: { NODE_OPTIONS: '--import tsx', TOLLGATE_E2E_KEEP: undefined, ...env },
    timeoutMs: 300000,
  });
  const start = r.stdout.indexOf('{\n');
  assert.ok(start >= 0, r.out);
  return { code: r.code, json: JSON.parse(r.stdout.slice(start)) as MochaJson, out: r.out };
}

describe('e2e harness: skips, CI failures, teardown', function () {
  this.timeout(300000);

  it('a missing client is skipped locally, with the install command in the title', async () => {
    const { code, json, out } = await mocha('missing-client.ts', { CI: undefined });
    assert.equal(code, 0, out);
    assert.deepEqual([json.stats.passes, json.stats.failures, json.stats.pending], [0, 0, 1], out);
    assert.ok(json.pending[0]?.fullTitle.includes(`[skipped: missing tollgate-no-such-client — install with: ${INSTALL}`), json.pending[0]?.fullTitle);
  });

  it('with CI=true the same missing client is a failure', async () => {
    const { code, json, out } = await mocha('missing-client.ts', { CI: 'true' });
    assert.notEqual(code, 0, out);
    assert.equal(json.stats.failures, 1, out);
    assert.match(json.failures[0]?.err.message ?? '', /missing tollgate-no-such-client .*; CI=true, so this is a failure/);
  });

  it('a failing test and a failing seed leave no process and no temp dir behind', async function () {
    requireBins(this, ['docker-registry', 'containerd']);
    const t = tempDir();
    try {
      const { code, json, out } = await mocha('failing-scenario.ts', { E2E_FIXTURE_OUT: t.dir });
      assert.notEqual(code, 0, out);
      assert.equal(json.stats.failures, 2, out);
      for (const name of ['test-fails', 'seed-fails']) {
        const rec = JSON.parse(readFileSync(join(t.dir, `${name}.json`), 'utf8')) as { dir: string; pids: number[] };
        assert.equal(rec.pids.length, name === 'test-fails' ? 4 : 3, JSON.stringify(rec));
        assert.deepEqual(rec.pids.filter(alive), [], `${name}: processes still running`);
        assert.equal(existsSync(rec.dir), false, `${name}: ${rec.dir} still exists`);
      }
    } finally {
      t.cleanup();
    }
  });
});
