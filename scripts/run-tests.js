#!/usr/bin/env node
// `npm test`: runs every mocha suite (TypeScript through tsx) and ends with "N passed, N failed".
// `--unit` leaves out the end-to-end suite (real registry and clients).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const rest = args.filter((a) => a !== '--unit');
const specs = [
  'authz-server/test/**/*.test.ts',
  'authn-server/test/**/*.test.ts',
  'proxy/test/**/*.test.ts',
  'deploy-test/**/*.test.ts',
  'controller/test/**/*.test.ts',
  ...(unitOnly ? [] : ['e2e/test/**/*.test.ts']),
];
const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const res = spawnSync(
  process.execPath,
  [mocha, '--reporter', join(root, 'scripts', 'summary-reporter.cjs'), '--timeout', '60000', '--exit', ...(rest.length ? rest : specs)],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import tsx`.trim() } },
);
if (res.error) {
  process.stderr.write(`cannot run mocha: ${res.error.message}\n`);
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
}
process.exit(res.status ?? 1);
