/** `tollgate credential-provider`: the kubelet exec plugin (plugin.ts), wired into the `tollgate` CLI. */
import type { Command } from 'commander';
import { checkOptions, runProvider, UsageError } from './plugin.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerCredentialProviderCommand(program: Command): void {
  program
    .command('credential-provider')
    .description('kubelet credential provider (KEP-4412): CredentialProviderRequest on stdin → the pod\'s service-account token as the password of --username')
    .option('--registry <host[:port]>', 'registry the credentials are for, as in matchImages; repeatable', collect)
    .option('--username <name>', 'user name of the issuer in authn\'s issuers file', 'k8s')
    .option('--allow-wildcard-registry', 'accept a wildcard --registry such as *.example.com (the token goes to every matching host)')
    .action(async (o: { registry?: string[]; username?: string; allowWildcardRegistry?: boolean }) => {
      let opts;
      try {
        opts = checkOptions(o);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        process.stderr.write(`tollgate credential-provider: ${e.message}\n`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = await runProvider(opts, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    });
}
