/**
 * `tollgate authn serve` loads only what the server uses: the admin CLI commands registered in the
 * same binary must not pull axios (≈ 25 MB of RSS) into the token server. Checked on the real CLI
 * with an ESM loader hook that records every package module the process loads.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Runs the CLI with `args` and returns the packages (node_modules/<name>) it loaded. */
function packagesLoadedBy(dir: string, args: string[]): Set<string> {
  const out = join(dir, `loaded-${args[0]}.txt`);
  writeFileSync(out, '');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, ctx, next) {\n  appendFileSync(${JSON.stringify(out)}, url + '\\n');\n  return next(url, ctx);\n}\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(register).href, join(ROOT, 'cli', 'tollgate.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 60_000,
  });
  assert.notEqual(r.status, null, `did not exit: ${r.stderr}`);
  const names = readFileSync(out, 'utf8').split('\n').map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((n): n is string => !!n);
  return new Set(names);
}

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
});
