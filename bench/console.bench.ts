/**
 * `npm run bench:console [-- --accounts 100000 --per-account 10 --repeat 20 --no-postgres]`
 *
 * What the console's Bindings page costs the server: `GET /bindings?q=…&limit=100` (the substring
 * filter over account, role and namespace, served by the API) at 1M bindings on SQLite and, unless
 * `--no-postgres`, on a PostgreSQL the bench starts itself. Filters: none (first page), a common
 * substring (the page fills early), a rare one (10 rows: scans most of the table) and one that matches
 * nothing (a full scan: the worst case). Prints the median and p95 per filter over `--repeat` runs.
 * The browser side (10,000 bindings in Chromium) is timed by authz-server/test/console/console.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createLogger } from '../common/logger.js';
import { createApp } from '../authz-server/src/app.js';
import { AuthzStore } from '../authz-server/src/store/decision-cache.js';
import { PostgresStore } from '../authz-server/src/store/postgres/index.js';
import { exportState } from '../authz-server/src/store/state.js';
import { PgServer } from '../authz-server/test/pg-server.js';
import { flag, helpIfAsked, numArg } from './args.js';
import { seed } from './authz-seed.js';

const ACCOUNTS = numArg('accounts', 100_000);
const PER = numArg('per-account', 10);
const REPEAT = numArg('repeat', 20);
const NO_POSTGRES = flag('no-postgres', 'skip the PostgreSQL store');
helpIfAsked('npm run bench:console [-- flags]: the console\'s Bindings page queries at 1M bindings');
const ADMIN = 'bench-admin-token-0123456789abcdef0123';
const FILTERS: Array<[string, string]> = [
  ['no filter', ''],
  ['common ("role-1")', 'role-1'],
  ['rare ("user-12345")', `user-${Math.min(12345, ACCOUNTS - 1)}`],
  ['nothing matches', 'no-such-name'],
];

async function measure(label: string, store: AuthzStore): Promise<string[]> {
  const app = createApp({ store, logger: createLogger({ name: 'bench', level: 'silent' }), tokens: { admin: ADMIN, client: `${ADMIN}-client` } });
  const rows: string[] = [];
  for (const [name, q] of FILTERS) {
    const ms: number[] = [];
    let count = 0;
    for (let i = 0; i < REPEAT; i++) {
      const t0 = performance.now();
      const res = await request(app).get(`/bindings?limit=100${q ? `&q=${encodeURIComponent(q)}` : ''}`).set('Authorization', `Bearer ${ADMIN}`);
      ms.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`${label} ${name}: HTTP ${res.status}`);
      count = (res.body as { bindings: unknown[] }).bindings.length;
    }
    ms.sort((a, b) => a - b);
    const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(1);
    rows.push(`| ${label} | ${name} | ${count} | ${at(0.5)} | ${at(0.95)} |`);
  }
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), 'tollgate-console-bench-'));
let pgs: PgServer | undefined;
try {
  const { store, seconds } = await seed(join(dir, 'authz.db'), ACCOUNTS, PER);
  process.stdout.write(`seeded ${(ACCOUNTS * PER).toLocaleString('en')} bindings in ${seconds.toFixed(1)} s\n`);
  const rows = await measure('SQLite', store);
  if (!NO_POSTGRES) {
    pgs = await PgServer.create();
    const url = (await pgs.createDatabase('bench')).url;
    const pg = await AuthzStore.create(await PostgresStore.open({ url }));
    await pg.importState({ ...(await exportState(store, new Date())), version: 1 }, 'replace', new Date());
    await pgs.query('ANALYZE', [], new URL(url).pathname.slice(1));
    rows.push(...(await measure('PostgreSQL', pg)));
    await pg.close();
  }
  await store.close();
  process.stdout.write(['| engine | filter (q) | rows | median ms | p95 ms |', '|---|---|---|---|---|', ...rows].join('\n') + '\n');
} finally {
  await pgs?.stop();
  rmSync(dir, { recursive: true, force: true });
}
