/** `tollgate controller`: the RegistryCredential controller (controller/), wired into the `tollgate` CLI. */
import type { Command } from 'commander';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('reconcile RegistryCredential objects: robot or service-account-token registry Secrets per namespace, rotated and attached (docs/controller.md)')
    .option('--listen <host:port>', 'probe endpoint /healthz, /readyz (env TOLLGATE_CONTROLLER_LISTEN, default 0.0.0.0:8080)')
    .option('--k8s-api-url <url>', 'Kubernetes API URL; default in-cluster (env TOLLGATE_CONTROLLER_K8S_API_URL; http only to loopback)')
    .option('--k8s-token-file <file>', 'bearer token file for the API, re-read per request (env TOLLGATE_CONTROLLER_K8S_TOKEN_FILE)')
    .option('--k8s-ca-file <file>', 'CA bundle of the API (env TOLLGATE_CONTROLLER_K8S_CA_FILE)')
    .option('--authz-url <url>', 'authz-server base URL (env TOLLGATE_CONTROLLER_AUTHZ_URL)')
    .option('--authz-token-file <file>', 'authz token: a robots:manage token for all namespaces, never the admin token (env TOLLGATE_CONTROLLER_AUTHZ_TOKEN_FILE)')
    .option('--registry-host <host>', 'registry host the Secrets\' auths are keyed by (env TOLLGATE_CONTROLLER_REGISTRY_HOST)')
    .option('--audience <aud>', 'TokenRequest audience, as authn\'s issuers file expects (env TOLLGATE_CONTROLLER_AUDIENCE, default --registry-host)')
    .option('--token-username <name>', 'user name of the cluster\'s issuer in authn\'s issuers file (env TOLLGATE_CONTROLLER_TOKEN_USERNAME, default k8s)')
    .option('--token-max-age <duration>', 'the issuer\'s maxTokenAge: tokens are refreshed before this age (env TOLLGATE_CONTROLLER_TOKEN_MAX_AGE, default 1h)')
    .option('--token-max-lifetime <duration>', 'the issuer\'s maxLifetime: the largest expirationSeconds accepted (env TOLLGATE_CONTROLLER_TOKEN_MAX_LIFETIME, default 24h)')
    .option('--allow-push <glob>', 'namespaces whose Robot credentials may push, repeatable (env TOLLGATE_CONTROLLER_ALLOW_PUSH, comma-separated, default *)', collect)
    .option('--workers <n>', 'reconciles in parallel (env TOLLGATE_CONTROLLER_WORKERS, default 4)')
    .option('--resync <duration>', 'reconcile everything this often (env TOLLGATE_CONTROLLER_RESYNC, default 10m)')
    .option('--no-leader-elect', 'run without the Lease (one replica only) (env TOLLGATE_CONTROLLER_LEADER_ELECT=false)')
    .option('--lease-namespace <ns>', 'namespace of the Lease (env TOLLGATE_CONTROLLER_LEASE_NAMESPACE or POD_NAMESPACE, default tollgate)')
    .option('--lease-name <name>', 'Lease name (env TOLLGATE_CONTROLLER_LEASE_NAME, default tollgate-controller)')
    .option('--identity <id>', 'this replica\'s name in the Lease (env POD_NAME, default hostname + random)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env TOLLGATE_CONTROLLER_LOG_LEVEL or TOLLGATE_LOG_LEVEL)')
    .action(async (opts: Record<string, unknown>) => {
      const { runController } = await import('../../controller/src/main.js');
      await runController(opts);
    });
}
