/** `tollgate export [--out FILE]` and `tollgate import FILE|- [--merge]`. */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, CliError, createClient, withClientOptions, type ClientOptions } from './client.js';

export function registerStateCommands(program: Command): void {
  withClientOptions(program.command('export').description('print the whole authz state (roles and bindings) as JSON').option('--out <file>', 'write to a file instead of stdout')).action(
    action(async (opts: ClientOptions & { out?: string }) => {
      const res = await (await createClient(opts)).http.get('/export');
      const text = `${JSON.stringify(res.data, null, 2)}\n`;
      if (opts.out) {
        writeFileSync(opts.out, text, { mode: 0o600 });
        const d = res.data as { roles: unknown[]; bindings: unknown[] };
        process.stderr.write(`exported ${d.roles.length} role(s) and ${d.bindings.length} binding(s) to ${opts.out}\n`);
      } else process.stdout.write(text);
    }),
  );

  withClientOptions(
    program
      .command('import <file>')
      .description('load a state file (from export) atomically: replaces everything unless --merge ("-" reads stdin)')
      .option('--merge', 'add/replace the roles and add the bindings in the file, deleting nothing'),
  ).action(
    action(async (file: string, opts: ClientOptions & { merge?: boolean }) => {
      let body: unknown;
      try {
        body = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
      } catch (e) {
        throw new CliError(`cannot read state from ${file}: ${(e as Error).message}`);
      }
      const mode = opts.merge ? 'merge' : 'replace';
      const res = await (await createClient(opts)).http.post('/import', body, { params: { mode } });
      const d = res.data as { roles: number; bindings: number };
      process.stdout.write(`imported (${mode}): ${d.roles} role(s), ${d.bindings} new binding(s)\n`);
    }),
  );
}
