import type { Command } from 'commander';
import { readPassword } from './read-password.js';

const HASH_COST_DEFAULT = 10;

/** Parses `--cost`: bcrypt accepts 4–31; below 10 is too cheap for real use, but tests want 4. */
function parseCost(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 4 || n > 31) throw new Error(`--cost must be an integer from 4 to 31 (got "${value}")`);
  return n;
}

/**
 * `tollgate hash-password [--cost N]`: reads one password from stdin (the first line; prompted without echo
 * when stdin is a terminal) and prints its bcrypt hash, for the users file (`password:`) or an htpasswd line.
 */
export function registerCredentialCommands(program: Command): void {
  program
    .command('hash-password')
    .description('read a password on stdin (first line) and print its bcrypt hash for --users / --htpasswd files')
    .option('--cost <n>', `bcrypt cost factor, 4-31 (default ${HASH_COST_DEFAULT})`)
    .action(async (opts: { cost?: string }) => {
      let cost: number;
      try {
        cost = opts.cost === undefined ? HASH_COST_DEFAULT : parseCost(opts.cost);
      } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const password = await readPassword(process.stdin, process.stderr);
      if (password === null || password === '') {
        process.stderr.write('error: no password on stdin (type it, or pipe it: printf %s "$PW" | tollgate hash-password)\n');
        process.exitCode = 2;
        return;
      }
      const bcrypt = (await import('bcryptjs')).default;
      if (bcrypt.truncates(password)) process.stderr.write('warning: bcrypt only uses the first 72 bytes of the password\n');
      process.stdout.write(`${await bcrypt.hash(password, cost)}\n`);
    });
}
