/**
 * `tollgate start`: the whole dev stack in one command. authz-server (SQLite in the data dir),
 * authn-server, and — when the `docker-registry` binary is installed — a Distribution registry with
 * token auth against authn. First run creates keys, tokens and demo users; an empty store gets the
 * demo roles and bindings. Ctrl-C / SIGTERM stops every child by PID.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { readSecretFile } from '../../common/secret.js';
import { logTail, signalAllSync, spawnChild, stopAll, waitReady, type Child } from './children.js';
import { bundleHasCert, dataPaths, prepareData, selfCommand, writeRegistryConfig, type DemoCreds } from './setup.js';
import { AUTHN_NODE_OPTIONS } from '../../authn-server/src/node-options.js';

export interface StartOptions {
  data: string;
  host: string;
  authzPort: string;
  authnPort: string;
  registryPort: string;
  registry: boolean;
  registryBin: string;
}

export const ISSUER = 'tollgate';
export const SERVICE = 'tollgate-registry';

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${flag} must be a port number 1-65535, got "${value}"`);
  return n;
}

/** Resolves with the port if it can be bound on `host` (then releases it), 0 for "any free port"; undefined when busy. */
function tryBind(host: string, port: number): Promise<number | undefined> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once('error', () => ok(undefined));
    srv.listen(port, host, () => {
      const got = (srv.address() as { port: number }).port;
      srv.close(() => ok(got));
    });
  });
}

function onPath(bin: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', bin]).status === 0;
}

/** Seeds the demo roles and bindings, but only into an empty store. */
async function seedDemo(authzUrl: string, adminToken: string): Promise<boolean> {
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const r = await fetch(`${authzUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`authz ${method} ${path} → ${r.status}: ${text}`);
    return JSON.parse(text) as unknown;
  };
  const roles = (await call('GET', '/roles')) as { roles?: unknown[] };
  const bindings = (await call('GET', '/bindings')) as { bindings?: unknown[] };
  if ((roles.roles?.length ?? 0) > 0 || (bindings.bindings?.length ?? 0) > 0) return false;
  await call('POST', '/add-role', { name: 'namespace-owner', permissions: [{ request_type: 'repository', name: '${namespace}/**', actions: ['pull', 'push'] }] });
  await call('POST', '/add-role', {
    name: 'registry-admin',
    permissions: [
      { request_type: 'repository', name: '**', actions: ['*'] },
      { request_type: 'registry', name: 'catalog', actions: ['*'] },
    ],
  });
  await call('POST', '/add-role-binding', { account_name: 'alice', role_name: 'namespace-owner', namespace: 'team-a' });
  await call('POST', '/add-role-binding', { account_name: 'bob', role_name: 'namespace-owner', namespace: 'team-b' });
  await call('POST', '/add-role-binding', { account_name: 'admin', role_name: 'registry-admin' });
  return true;
}

/** Quotes for a POSIX shell, so the printed command pastes as is whatever the data path holds. */
const shq = (v: string): string => `'${v.replaceAll("'", `'\\''`)}'`;

/**
 * A shell command that logs skopeo in as `user` with the password read from demo-credentials.json and
 * handed over on stdin: no password in the banner, the shell history or any process's argv.
 */
function skopeoLogin(user: string, credsFile: string, registryHost: string): string {
  return `node -p ${shq(`require(process.argv[1]).${user}`)} ${shq(credsFile)} | skopeo login --tls-verify=false --username ${user} --password-stdin ${registryHost}`;
}

function banner(o: { authzUrl: string; authnUrl: string; registryHost?: string; creds: DemoCreds; credsFile: string; data: string; demoImage: string; seeded: boolean; children: Child[]; registryHint?: string }): string {
  const lines = [
    '',
    'tollgate stack ready',
    `  authz-server  ${o.authzUrl}   (admin token: ${o.data}/admin.token)`,
    `  web console   ${o.authzUrl}/ui/   (sign in with the admin token)`,
    `  authn-server  ${o.authnUrl}/auth   (/metrics token: ${o.data}/metrics.token)`,
    o.registryHost ? `  registry      http://${o.registryHost}   (token auth, service "${SERVICE}")` : `  registry      not started: ${o.registryHint}`,
    `  pids          ${o.children.map((c) => `${c.name}=${c.proc.pid}`).join(' ')}`,
    `  logs          ${o.data}/logs/`,
    '',
    `Demo accounts${o.seeded ? ' (just seeded)' : ''}: alice → team-a/*, bob → team-b/*, admin → everything + catalog`,
    o.creds.alice.startsWith('(') ? '  passwords: see users.yml (not written by tollgate start)' : `  passwords in ${o.credsFile} (mode 0600; not printed)`,
  ];
  if (o.registryHost) {
    lines.push(
      '',
      'Try it (each login reads the password from the file):',
      `  ${skopeoLogin('alice', o.credsFile, o.registryHost)}`,
      `  skopeo copy --dest-tls-verify=false ${shq(`oci:${o.demoImage}:v1`)} docker://${o.registryHost}/team-a/hello:v1`,
      `  ${skopeoLogin('bob', o.credsFile, o.registryHost)}`,
      `  skopeo copy --src-tls-verify=false docker://${o.registryHost}/team-a/hello:v1 ${shq(`oci:${o.data}/pulled/hello:v1`)}   # denied: bob is team-b`,
    );
  }
  lines.push('', 'Ctrl-C stops everything.', '');
  return lines.join('\n');
}

export async function start(opts: StartOptions): Promise<void> {
  const host = opts.host;
  const ports = { authz: port(opts.authzPort, '--authz-port'), authn: port(opts.authnPort, '--authn-port'), registry: port(opts.registryPort, '--registry-port') };
  for (const [name, flag, n] of [['authz-server', '--authz-port', ports.authz], ['authn-server', '--authn-port', ports.authn]] as const) {
    if ((await tryBind(host, n)) === undefined) throw new Error(`${host}:${n} for ${name} is already in use (another "tollgate start"?); pick another with ${flag}`);
  }
  const p = dataPaths(resolve(opts.data));
  const { created, creds } = prepareData(p);
  if (created.length) process.stdout.write(`created ${created.map((f) => f.replace(`${p.dir}/`, '')).join(', ')} in ${p.dir}\n`);
  if (!bundleHasCert(p.bundle, p.cert)) {
    process.stdout.write(`warning: ${p.bundle} does not hold ${p.cert}, so the registry will reject every token; delete the bundle to have it rebuilt\n`);
  }

  const self = selfCommand();
  const children: Child[] = [];
  let stopping: Promise<never> | undefined;
  const shutdown = (code: number, why: string): Promise<never> => {
    stopping ??= (async () => {
      process.stdout.write(`\n${why}: stopping ${children.filter((c) => c.running()).map((c) => c.name).join(', ') || 'nothing'}\n`);
      await stopAll(children);
      process.exit(code);
    })();
    return stopping;
  };
  // `on`, not `once`: a second Ctrl-C (or npm forwarding the one the terminal sent) must not fall
  // back to Node's default handler and kill us before the children are stopped.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void shutdown(0, sig));
  process.on('exit', () => signalAllSync(children));
  const watch = (c: Child) => {
    children.push(c);
    void c.exited.then((code) => {
      if (!stopping) {
        process.stderr.write(`${c.name} exited unexpectedly (${code}); last log lines:\n${logTail(c.logFile)}\n`);
        void shutdown(1, `${c.name} died`);
      }
    });
  };

  try {
    const authzUrl = `http://${host}:${ports.authz}`;
    const authz = spawnChild('authz-server', self.cmd, [...self.args, 'authz', 'serve', '--listen', `${host}:${ports.authz}`, '--db', p.db,
      '--admin-token-file', p.adminToken, '--client-token-file', p.clientToken], `${p.logs}/authz.log`);
    watch(authz);
    await waitReady(authz, `${authzUrl}/readyz`, [200]);
    const seeded = await seedDemo(authzUrl, readSecretFile(p.adminToken, 'admin token'));

    const authnUrl = `http://${host}:${ports.authn}`;
    const authn = spawnChild('authn-server', self.cmd, [...self.args, 'authn', 'serve', '--listen', `${host}:${ports.authn}`, '--authz-url', authzUrl,
      '--authz-token-file', p.clientToken, '--issuer', ISSUER, '--service', SERVICE, '--key', p.key, '--cert', p.cert, '--users', p.users,
      '--metrics-token-file', p.metricsToken], `${p.logs}/authn.log`, { NODE_OPTIONS: [process.env.NODE_OPTIONS, AUTHN_NODE_OPTIONS].filter(Boolean).join(' ') });
    watch(authn);
    await waitReady(authn, `${authnUrl}/readyz`, [200]);

    let registryHost: string | undefined;
    let registryHint: string | undefined;
    if (!opts.registry) registryHint = 'disabled with --no-registry';
    else if (!onPath(opts.registryBin)) {
      registryHint = `"${opts.registryBin}" not found — install it with: sudo apt-get install docker-registry (or sudo bash scripts/install-e2e-deps.sh)`;
      process.stdout.write(`registry: ${registryHint}; running authz + authn only\n`);
    } else {
      if ((await tryBind(host, ports.registry)) === undefined) {
        // Debian's docker-registry package runs its own service on :5000 by default.
        const free = (await tryBind(host, 0)) ?? 0;
        process.stdout.write(
          `registry: ${host}:${ports.registry} is in use (Debian's docker-registry service listens on :5000 — "sudo systemctl disable --now docker-registry" frees it); using ${host}:${free}\n`,
        );
        ports.registry = free;
      }
      const config = writeRegistryConfig(p, { host, port: ports.registry, realm: `${authnUrl}/auth`, service: SERVICE, issuer: ISSUER, bundle: p.bundle });
      const reg = spawnChild('registry', opts.registryBin, ['serve', config], `${p.logs}/registry.log`);
      watch(reg);
      await waitReady(reg, `http://${host}:${ports.registry}/v2/`, [401]);
      registryHost = `${host}:${ports.registry}`;
    }
    process.stdout.write(banner({ authzUrl, authnUrl, ...(registryHost ? { registryHost } : {}), ...(registryHint ? { registryHint } : {}), creds, credsFile: p.demoCreds, data: p.dir, demoImage: p.demoImage, seeded, children }));
  } catch (e) {
    if (stopping) return;
    process.stderr.write(`tollgate start: ${(e as Error).message}\n`);
    await shutdown(1, 'start failed');
  }
}
