/** `tollgate binding add|list|rm`. */
import type { Command } from 'commander';
import type { BindingRecord } from '../store/store.js';
import { action, createClient, withClientOptions, type ClientOptions } from './client.js';

type NsOpts = ClientOptions & { namespace?: string };

export function registerBindingCommands(program: Command): void {
  const binding = program
    .command('binding')
    .description('manage role bindings on a running authz-server (account "<anonymous>" = requests without credentials)');

  withClientOptions(
    binding.command('add <account> <role>').description('bind an account (or account glob) to a role').option('--namespace <ns>', 'namespace for ${namespace} patterns'),
  ).action(
    action(async (account_name: string, role_name: string, opts: NsOpts) => {
      const body = { account_name, role_name, ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}) };
      const res = await (await createClient(opts)).http.post('/add-role-binding', body);
      process.stdout.write(`${(res.data as { message: string }).message}: ${describe(body)}\n`);
    }),
  );

  withClientOptions(
    binding.command('rm <account> <role>').description('remove a binding').option('--namespace <ns>', 'namespace of the binding'),
  ).action(
    action(async (account_name: string, role_name: string, opts: NsOpts) => {
      const body = { account_name, role_name, ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}) };
      const res = await (await createClient(opts)).http.post('/delete-role-binding', body);
      process.stdout.write(`${(res.data as { message: string }).message}: ${describe(body)}\n`);
    }),
  );

  withClientOptions(
    binding
      .command('list')
      .description('list bindings')
      .option('--account <account>', 'only this account name (exact)')
      .option('--role <role>', 'only this role')
      .option('--namespace <ns>', 'only this namespace')
      .option('--filter <text>', 'only bindings whose account, role or namespace contains this text')
      .option('--json', 'print JSON'),
  ).action(
    action(async (opts: NsOpts & { account?: string; role?: string; filter?: string; json?: boolean }) => {
      const { http } = await createClient(opts);
      const all: BindingRecord[] = [];
      let after: number | null = 0;
      while (after !== null) {
        const params = { account: opts.account, role: opts.role, namespace: opts.namespace, q: opts.filter, after, limit: 10000 };
        const res = await http.get('/bindings', { params });
        const page = res.data as { bindings: BindingRecord[]; next: number | null };
        all.push(...page.bindings);
        after = page.next;
      }
      if (opts.json) return void process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
      if (all.length === 0) return void process.stdout.write('no bindings\n');
      for (const b of all) process.stdout.write(`${describe(b)}\n`);
    }),
  );
}

function describe(b: { account_name: string; role_name: string; namespace?: string | null }): string {
  return `${b.account_name} → ${b.role_name}${b.namespace ? ` (namespace ${b.namespace})` : ''}`;
}
