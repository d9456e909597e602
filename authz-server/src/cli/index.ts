import type { Command } from 'commander';
import { DEFAULTS } from '../config.js';
import { registerBindingCommands } from './bindings.js';
import { registerCheckCommand } from './check.js';
import { registerRobotCommands } from './robots.js';
import { registerRoleCommands } from './roles.js';
import { registerStateCommands } from './state.js';
import { registerTokenCommands } from './tokens.js';

/** Registers `authz serve`, `role …`, `binding …`, `check`, `export`, `import`, `robot …`, `token …`. */
export function registerAuthzCommands(program: Command): void {
  const authz = program.command('authz').description('authz-server: roles, namespace bindings and decisions');
  authz
    .command('serve')
    .description('run the authz-server')
    .option('--listen <host:port>', `listen address (env TOLLGATE_AUTHZ_LISTEN, default ${DEFAULTS.listen})`)
    .option('--db <file|url>', `SQLite file (parent directory created) or postgres:// URL (env TOLLGATE_AUTHZ_DB, default ${DEFAULTS.db})`)
    .option('--db-password-file <file>', 'PostgreSQL password, overriding the URL\'s (env TOLLGATE_AUTHZ_DB_PASSWORD_FILE; PGPASSWORD also works)')
    .option('--admin-token-file <file>', 'admin token file (env TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE, or the token in TOLLGATE_AUTHZ_ADMIN_TOKEN)')
    .option('--client-token-file <file>', 'client token file for /authorized (env TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE, or TOLLGATE_AUTHZ_CLIENT_TOKEN)')
    .option('--insecure-dev', 'allow running without tokens (routes whose token is unset are open) — local development only')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env TOLLGATE_LOG_LEVEL, default info)')
    .option('--registry-host <host[:port]>', 'registry host the web console puts in docker login lines (env TOLLGATE_AUTHZ_REGISTRY_HOST)')
    .option('--registry-service <name...>', `authn's service name(s), offered by the console's Explain page (env TOLLGATE_AUTHZ_REGISTRY_SERVICE, comma-separated; default ${DEFAULTS.registryService})`)
    .action(async (opts: { listen?: string; db?: string; dbPasswordFile?: string; adminTokenFile?: string; clientTokenFile?: string; insecureDev?: boolean; logLevel?: string; registryHost?: string; registryService?: string[] }) => {
      // Loaded lazily so admin commands do not pull in express and better-sqlite3.
      const { serve } = await import('../main.js');
      await serve(opts);
    });
  registerRoleCommands(program);
  registerBindingCommands(program);
  registerCheckCommand(program);
  registerStateCommands(program);
  registerRobotCommands(program);
  registerTokenCommands(program);
}
