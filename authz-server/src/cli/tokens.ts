/**
 * `tollgate token create|list|rm`: scoped API tokens (admin token required). A token is printed once,
 * on stdout, and nowhere else.
 */
import type { Command } from 'commander';
import type { ApiTokenView, NewApiTokenView } from '../tokens/routes.js';
import { action, collect, createClient, withClientOptions, type ClientOptions } from './client.js';

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('scoped API tokens for admin routes: abilities (read, robots:rotate, robots:manage, bindings:manage) in namespaces');

  withClientOptions(
    token
      .command('create <name>')
      .description('create a token; prints it once')
      .option('--namespace <ns>', 'namespace, glob (team-*) or * (repeatable)', collect, [])
      .option('--ability <ability>', 'read, robots:rotate, robots:manage or bindings:manage (repeatable)', collect, [])
      .option('--ttl <duration>', 'lifetime, 1m..732d (default: no expiry)')
      .option('--json', 'JSON output'),
  ).action(
    action(async (name: string, opts: ClientOptions & { namespace: string[]; ability: string[]; ttl?: string; json?: boolean }) => {
      const body = { name, namespaces: opts.namespace, abilities: opts.ability, ...(opts.ttl ? { ttl: opts.ttl } : {}) };
      const t = (await (await createClient(opts)).http.post('/tokens', body)).data as NewApiTokenView;
      if (opts.json) return void process.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
      process.stdout.write(`${t.token}\n`);
      process.stderr.write(`token "${t.name}": ${t.abilities.join(',')} in ${t.namespaces.join(',')}, expires ${t.expires_at ?? 'never'}; shown only this once\n`);
    }),
  );

  withClientOptions(token.command('list').description('list tokens (never the tokens themselves)').option('--json', 'JSON output')).action(
    action(async (opts: ClientOptions & { json?: boolean }) => {
      const tokens = ((await (await createClient(opts)).http.get('/tokens')).data as { tokens: ApiTokenView[] }).tokens;
      if (opts.json) return void process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
      for (const t of tokens) {
        const state = t.expired ? ' (EXPIRED)' : '';
        process.stdout.write(`${t.name}  ${t.abilities.join(',')}  namespaces ${t.namespaces.join(',')}  expires ${t.expires_at ?? 'never'}${state}  last used ${t.last_used_at ?? 'never'}\n`);
      }
      if (tokens.length === 0) process.stderr.write('no tokens\n');
    }),
  );

  withClientOptions(token.command('rm <name>').description('revoke a token (refused from the next request on)')).action(
    action(async (name: string, opts: ClientOptions) => {
      await (await createClient(opts)).http.delete(`/tokens/${encodeURIComponent(name)}`);
      process.stdout.write(`revoked ${name}\n`);
    }),
  );
}
