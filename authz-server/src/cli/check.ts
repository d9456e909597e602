/** `tollgate check`: asks `/explain` and prints a readable trace. Exit 0 allowed, 3 denied, 1 error. */
import type { Command } from 'commander';
import type { ExplainResult } from '../policy/decide.js';
import { action, collect, CliError, createClient, withClientOptions, type ClientOptions } from './client.js';

interface CheckOpts extends ClientOptions {
  account: string;
  type: string;
  name: string;
  service: string;
  ip: string;
  action: string[];
  label: string[];
  json?: boolean;
}

export const DENIED_EXIT = 3;

function labels(pairs: string[]): Record<string, string[]> | null {
  if (pairs.length === 0) return null;
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CliError(`--label "${p}" must look like KEY=VALUE`);
    (out[p.slice(0, i)] ??= []).push(p.slice(i + 1));
  }
  return out;
}

export function registerCheckCommand(program: Command): void {
  withClientOptions(
    program
      .command('check')
      .description('explain a decision: which binding → role → permission grants each action (exit 0 allowed, 3 denied)')
      .requiredOption('--account <account>', 'requesting account ("" for anonymous)')
      .requiredOption('--name <name>', 'repository name (or "catalog" with --type registry)')
      .option('--type <type>', 'request type', 'repository')
      .option('--service <service>', 'service (registry audience)', '')
      .option('--ip <ip>', 'client IP', '')
      .option('--action <action>', 'requested action (repeatable or comma-separated; default pull)', collect, [])
      .option('--label <key=value>', 'account label (repeatable)', collect, [])
      .option('--json', 'print the raw /explain reply'),
  ).action(
    action(async (opts: CheckOpts) => {
      const actions = opts.action.flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean);
      const body = {
        Account: opts.account,
        Type: opts.type,
        Name: opts.name,
        Service: opts.service,
        IP: opts.ip,
        Actions: actions.length ? actions : ['pull'],
        Labels: labels(opts.label),
      };
      const res = await (await createClient(opts)).http.post('/explain', body);
      const x = res.data as ExplainResult;
      if (opts.json) process.stdout.write(`${JSON.stringify(x, null, 2)}\n`);
      else process.stdout.write(render(body, x));
      if (!x.allowed) process.exitCode = DENIED_EXIT;
    }),
  );
}

function render(req: { Account: string; Type: string; Name: string; Actions: string[] }, x: ExplainResult): string {
  const who = req.Account === '' ? '<anonymous>' : req.Account;
  const lines = [`${x.allowed ? 'ALLOWED' : 'DENIED'}: ${who} ${req.Type}:${req.Name}:${x.requested.join(',')} → granted [${x.actions.join(', ')}]`];
  lines.push(`  ${x.bindings_considered} binding(s) considered`);
  for (const a of x.per_action) {
    if (!a.granted) {
      lines.push(`  ✗ ${a.action}: not granted`);
      continue;
    }
    for (const g of a.granted_by) {
      const ns = g.binding.namespace ? ` (namespace ${g.binding.namespace})` : '';
      lines.push(`  ✓ ${a.action}: binding ${g.binding.account_name} → role ${g.binding.role_name}${ns}, permission #${g.permission_index} ${JSON.stringify(g.permission)}`);
    }
  }
  if (x.misses.length) lines.push('  why not:', ...x.misses.map((m) => `    - ${m}`));
  return lines.join('\n') + '\n';
}
