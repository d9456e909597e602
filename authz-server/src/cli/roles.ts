/** `tollgate role add|get|list|rm`. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { RoleRecord } from '../store/store.js';
import { action, collect, CliError, createClient, withClientOptions, type ClientOptions } from './client.js';

function permissionsFrom(opts: { permission: string[]; file?: string }): unknown[] {
  const out: unknown[] = [];
  for (const [i, text] of opts.permission.entries()) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new CliError(`--permission #${i + 1} is not valid JSON: ${(e as Error).message}`);
    }
    out.push(...(Array.isArray(v) ? v : [v]));
  }
  if (opts.file) {
    let v: unknown;
    try {
      v = parseYaml(readFileSync(opts.file, 'utf8'));
    } catch (e) {
      throw new CliError(`cannot read permissions from ${opts.file}: ${(e as Error).message}`);
    }
    // The file may hold one permission, a list, or a role ({name?, permissions}).
    if (v && typeof v === 'object' && !Array.isArray(v) && 'permissions' in v) v = (v as { permissions: unknown }).permissions;
    out.push(...(Array.isArray(v) ? v : [v]));
  }
  if (out.length === 0) throw new CliError('give at least one --permission JSON or a --file');
  return out;
}

export function registerRoleCommands(program: Command): void {
  const role = program.command('role').description('manage roles on a running authz-server');

  withClientOptions(
    role
      .command('add <name>')
      .description('create or replace a role')
      .option('--permission <json>', 'permission as JSON, e.g. \'{"name":"${namespace}/**","actions":["pull"]}\' (repeatable)', collect, [])
      .option('--file <file>', 'JSON or YAML file with a permission, a list of them, or {permissions: [...]}'),
  ).action(
    action(async (name: string, opts: ClientOptions & { permission: string[]; file?: string }) => {
      const permissions = permissionsFrom(opts);
      const { http } = await createClient(opts);
      const res = await http.post('/add-role', { name, permissions });
      process.stdout.write(`${(res.data as { message: string }).message}\n`);
    }),
  );

  withClientOptions(role.command('get <name>').description('print a role as JSON')).action(
    action(async (name: string, opts: ClientOptions) => {
      const res = await (await createClient(opts)).http.get(`/roles/${encodeURIComponent(name)}`);
      process.stdout.write(`${JSON.stringify(res.data, null, 2)}\n`);
    }),
  );

  withClientOptions(role.command('list').description('list roles').option('--json', 'print JSON')).action(
    action(async (opts: ClientOptions & { json?: boolean }) => {
      const res = await (await createClient(opts)).http.get('/roles');
      const roles = (res.data as { roles: RoleRecord[] }).roles;
      if (opts.json) return void process.stdout.write(`${JSON.stringify(roles, null, 2)}\n`);
      if (roles.length === 0) return void process.stdout.write('no roles\n');
      for (const r of roles) {
        const perms = r.permissions.map((p) => `${p.name ?? '*any*'}:[${p.actions.join(',')}]`).join(' ');
        process.stdout.write(`${r.name}\t${perms}\n`);
      }
    }),
  );

  withClientOptions(
    role.command('rm <name>').description('delete a role (refused while bindings use it, unless --force)').option('--force', 'also delete its bindings'),
  ).action(
    action(async (name: string, opts: ClientOptions & { force?: boolean }) => {
      const res = await (await createClient(opts)).http.post('/delete-role', { name, ...(opts.force ? { force: true } : {}) });
      process.stdout.write(`${(res.data as { message: string }).message}\n`);
    }),
  );
}
