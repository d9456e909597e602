import type { Command } from 'commander';
import { readSecretFile } from '../../common/secret.js';

/** Registers `start` (the whole dev stack) and `doctor` (protocol conformance checks). */
export function registerStackCommands(program: Command): void {
  program
    .command('start')
    .description('run authz-server, authn-server and (if installed) a docker-registry with token auth; seeds a demo on first run')
    .option('--data <dir>', 'data directory: tokens, keys, users, SQLite, registry storage, logs (env TOLLGATE_DATA)', process.env.TOLLGATE_DATA ?? './data')
    .option('--host <ip>', 'address every service listens on', '127.0.0.1')
    .option('--authz-port <port>', 'authz-server port', '5001')
    .option('--authn-port <port>', 'authn-server port', '5002')
    .option('--registry-port <port>', 'registry port', '5000')
    .option('--no-registry', 'do not start the registry')
    .option('--registry-bin <path>', 'registry binary', 'docker-registry')
    .action(async (opts: { data: string; host: string; authzPort: string; authnPort: string; registryPort: string; registry: boolean; registryBin: string }) => {
      const { start } = await import('./start.js');
      try {
        await start(opts);
      } catch (e) {
        process.stderr.write(`tollgate start: ${(e as Error).message}\n`);
        process.exit(2);
      }
    });

  program
    .command('doctor')
    .description('check a registry + token server against the Docker Registry v2 token protocol; prints a pass/fail table (exit 1 on any failure)')
    .requiredOption('--registry <url>', 'registry base URL, e.g. http://127.0.0.1:5000')
    .option('--authn <url>', 'authn-server base URL; checked against the realm the registry announces')
    .option('--user <name>', 'account for the credentialed checks')
    .option('--password <password>', 'its password (prefer --password-file or env TOLLGATE_DOCTOR_PASSWORD)')
    .option('--password-file <file>', 'file holding the password')
    .option('--repository <name>', 'repository to ask scopes for', 'tollgate-doctor/check')
    .option('--json', 'print the results as JSON')
    .action(async (opts: { registry: string; authn?: string; user?: string; password?: string; passwordFile?: string; repository: string; json?: boolean }) => {
      const { runChecks, formatTable } = await import('./doctor.js');
      let password = opts.password ?? process.env.TOLLGATE_DOCTOR_PASSWORD;
      try {
        if (opts.passwordFile) password = readSecretFile(opts.passwordFile, 'password');
        const rows = await runChecks({ registry: opts.registry, repository: opts.repository, ...(opts.authn ? { authn: opts.authn } : {}), ...(opts.user ? { user: opts.user } : {}), ...(password !== undefined ? { password } : {}) });
        process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : formatTable(rows));
        process.exitCode = rows.some((r) => r.status === 'FAIL') ? 1 : 0;
      } catch (e) {
        process.stderr.write(`tollgate doctor: ${(e as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}
