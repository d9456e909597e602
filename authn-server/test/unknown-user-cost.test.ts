/**
 * Unknown users cost what real users cost, also with mixed bcrypt costs: each unknown name gets a dummy
 * compare at a cost drawn from the loaded users' own mix (the same cost every time for the same name),
 * and mixed costs are warned about. Checked on the hash each compare runs against (its cost), not by
 * timing; the timings are measured in bench/results/credentials.md.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { createLogger } from '../../common/logger.js';
import { createCredentials } from '../src/credentials/chain.js';
import { tempDir } from './helpers.js';

describe('unknown users and mixed bcrypt costs', () => {
  it('each unknown name is checked at a cost drawn from the users’ mix (1 × cost 4, 3 × cost 5), the same cost on every try', async () => {
    const tmp = tempDir();
    const usersFile = join(tmp.dir, 'users.yaml');
    const line = (u: string, cost: number) => `  ${u}:\n    password: "${bcrypt.hashSync(`${u}-pw`, cost)}"\n`;
    writeFileSync(usersFile, `users:\n${line('cheap', 4)}${line('a', 5)}${line('b', 5)}${line('c', 5)}`);
    const warnings: Array<{ msg: string; bcrypt_costs?: Record<string, number> }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        warnings.push(JSON.parse(chunk.toString()) as (typeof warnings)[number]);
        cb();
      },
    });
    const costs: number[] = [];
    const creds = await createCredentials({
      logger: createLogger({ name: 't', level: 'warn', destination: sink }),
      usersFile,
      watch: { watch: false, pollMs: 0 },
      hashBudget: false,
      compare: async (_pw, hash) => (costs.push(bcrypt.getRounds(hash)), false),
    });
    try {
      const names = Array.from({ length: 400 }, (_, i) => `nobody-${i}`);
      for (const n of names) assert.deepEqual(await creds.authenticate(n, 'x'), { kind: 'no-match' });
      const cheap = costs.filter((c) => c === 4).length / costs.length;
      assert.ok(costs.every((c) => c === 4 || c === 5), `only the users' own costs: ${[...new Set(costs)].join(',')}`);
      assert.ok(cheap > 0.15 && cheap < 0.35, `about a quarter of unknown names cost 4 like "cheap" (got ${(cheap * 100).toFixed(0)}%)`);
      const first = costs.slice();
      costs.length = 0;
      for (const n of names) await creds.authenticate(n, 'another guess');
      assert.deepEqual(costs, first, 'a name keeps its cost: repeating the request does not average it out');
      const warning = warnings.find((w) => /mixed bcrypt costs/.test(w.msg));
      assert.deepEqual(warning?.bcrypt_costs, { 4: 1, 5: 3 });
    } finally {
      creds.close();
      tmp.cleanup();
    }
  });

  it('with one cost, every unknown name is checked at that cost and nothing is warned', async () => {
    const tmp = tempDir();
    const usersFile = join(tmp.dir, 'users.yaml');
    writeFileSync(usersFile, `users:\n  a:\n    password: "${bcrypt.hashSync('pw', 6)}"\n`);
    const costs: number[] = [];
    const creds = await createCredentials({ logger: createLogger({ name: 't', level: 'silent' }), usersFile, watch: { watch: false, pollMs: 0 }, hashBudget: false, compare: async (_pw, hash) => (costs.push(bcrypt.getRounds(hash)), false) });
    try {
      for (let i = 0; i < 50; i++) await creds.authenticate(`n${i}`, 'x');
      assert.deepEqual([...new Set(costs)], [6]);
    } finally {
      creds.close();
      tmp.cleanup();
    }
  });
});
