/**
 * The whole system as real processes: authz-server and authn-server run from source
 * (`node --import tsx cli/tollgate.ts …`, no build needed), the real `docker-registry` with
 * `auth.token` whose realm is a {@link TokenSpy} in front of authn, all on free loopback ports in
 * one temp dir. Ports are fixed at start so authz/authn/registry can be restarted in place.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import bcrypt from 'bcryptjs';
import { freePort, Proc, ROOT, run, tempDir, waitForHttp } from './procs.js';
import { startRegistry, type Registry } from './registry.js';
import { TokenSpy } from './spy.js';

export const SERVICE = 'registry.e2e';
export const ISSUER = 'tollgate-e2e';
/** Server settings a developer may have exported; the suite configures the servers by flags only. */
const SERVER_ENV = /^TOLLGATE_(AUTHZ|AUTHN)_/;

export interface StackOptions {
  /** Users (name → password). */
  users: Record<string, string>;
  anonymous?: boolean;
  /** Start the registry too (default true). */
  registry?: boolean;
  /** bcrypt cost of the users file (default 5, like `htpasswd -B`). */
  bcryptCost?: number;
  /** Put the recording {@link TokenSpy} between registry and authn (default true; the benchmark turns it off). */
  spy?: boolean;
  /** Issuers file content (read when the stack boots, so it may name an issuer started in an earlier hook): authn gets `--oidc-issuers`. */
  issuers?: () => unknown;
  /** More `authn serve` flags, read when authn starts (e.g. `--k8s-secrets --k8s-api-url …`). */
  authnArgs?: () => string[];
}

export interface Permission {
  request_type?: string;
  name?: string;
  actions: string[];
}

/** Runs `tollgate <args>` from source; throws with its output when it fails. */
export async function tollgate(args: string[], input?: string): Promise<string> {
  const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), ...args], input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`tollgate ${args.join(' ')} exited ${r.code}:\n${r.out}`);
  return r.stdout;
}

/** `keys generate --out dir` → `{key, cert}` paths. */
export async function generateKeys(dir: string): Promise<{ key: string; cert: string }> {
  await tollgate(['keys', 'generate', '--out', dir]);
  return { key: join(dir, 'token.key'), cert: join(dir, 'token.crt') };
}

export class Stack {
  readonly dir: string;
  readonly cleanupDir: () => void;
  authz!: Proc;
  authn!: Proc;
  registry: Registry | undefined;
  readonly spy: TokenSpy;
  readonly authzUrl: string;
  readonly authnUrl: string;
  readonly adminToken = randomBytes(24).toString('hex');
  readonly clientToken = randomBytes(24).toString('hex');
  key = { key: '', cert: '' };
  bundle = '';
  private deferred: Array<() => Promise<unknown>> = [];

  private constructor(
    private readonly opts: StackOptions,
    ports: { authz: number; authn: number },
  ) {
    const t = tempDir();
    this.dir = t.dir;
    this.cleanupDir = t.cleanup;
    this.authzUrl = `http://127.0.0.1:${ports.authz}`;
    this.authnUrl = `http://127.0.0.1:${ports.authn}`;
    this.spy = new TokenSpy(this.authnUrl);
  }

  static async start(opts: StackOptions): Promise<Stack> {
    const s = new Stack(opts, { authz: await freePort(), authn: await freePort() });
    try {
      await s.boot();
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  private async boot(): Promise<void> {
    writeFileSync(join(this.dir, 'admin.token'), this.adminToken, { mode: 0o600 });
    writeFileSync(join(this.dir, 'client.token'), this.clientToken, { mode: 0o600 });
    const users = Object.fromEntries(Object.entries(this.opts.users).map(([u, p]) => [u, { password: bcrypt.hashSync(p, this.opts.bcryptCost ?? 5), labels: {} }]));
    writeFileSync(join(this.dir, 'users.yml'), stringify({ users }), { mode: 0o600 });
    if (this.opts.issuers) writeFileSync(join(this.dir, 'issuers.yml'), stringify(this.opts.issuers()));
    const [, key] = await Promise.all([this.startAuthz(), generateKeys(join(this.dir, 'keys'))]);
    this.key = key;
    this.bundle = join(this.dir, 'bundle.pem');
    await tollgate(['keys', 'bundle', '--out', this.bundle, key.cert]);
    await this.startAuthn();
    await this.spy.start();
    const realm = this.opts.spy === false ? this.authnUrl : this.spy.url;
    if (this.opts.registry !== false) {
      this.registry = await startRegistry(join(this.dir, 'registry'), {
        token: { realm: `${realm}/auth`, service: SERVICE, issuer: ISSUER, rootcertbundle: this.bundle },
      });
    }
  }

  async startAuthz(): Promise<void> {
    const port = new URL(this.authzUrl).port;
    this.authz = new Proc({
      name: 'authz-server',
      cmd: process.execPath,
      args: ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'authz', 'serve', '--listen', `127.0.0.1:${port}`, '--db', join(this.dir, 'authz.db'),
        '--admin-token-file', join(this.dir, 'admin.token'), '--client-token-file', join(this.dir, 'client.token')],
      logFile: join(this.dir, 'authz.log'),
      dropEnv: SERVER_ENV,
    });
    await waitForHttp(`${this.authzUrl}/readyz`, [200], this.authz);
  }

  /** Starts authn on its fixed port; `over` switches key/cert (key rotation), kept for later restarts. */
  async startAuthn(over: { key?: string; cert?: string } = {}): Promise<void> {
    if (over.key && over.cert) this.key = { key: over.key, cert: over.cert };
    const port = new URL(this.authnUrl).port;
    const args = [
      'authn', 'serve', '--listen', `127.0.0.1:${port}`, '--authz-url', this.authzUrl, '--authz-token-file', join(this.dir, 'client.token'),
      '--issuer', ISSUER, '--service', SERVICE, '--key', this.key.key, '--cert', this.key.cert, '--users', join(this.dir, 'users.yml'),
      ...(this.opts.anonymous ? ['--anonymous'] : []),
      ...(this.opts.issuers ? ['--oidc-issuers', join(this.dir, 'issuers.yml')] : []),
      ...(this.opts.authnArgs?.() ?? []),
    ];
    this.authn = new Proc({
      name: 'authn-server',
      cmd: process.execPath,
      args: ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), ...args],
      logFile: join(this.dir, 'authn.log'),
      dropEnv: SERVER_ENV,
    });
    await waitForHttp(`${this.authnUrl}/readyz`, [200], this.authn);
  }

  /** `image` reference on this stack's registry. */
  ref(repo: string, tag = 'v1'): string {
    if (!this.registry) throw new Error('stack started without a registry');
    return `${this.registry.host}/${repo}:${tag}`;
  }

  /** POSTs JSON to an authz admin route; throws unless 2xx. */
  async admin(path: string, body: unknown): Promise<unknown> {
    const r = await fetch(`${this.authzUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`authz ${path} → ${r.status}: ${text}`);
    return JSON.parse(text) as unknown;
  }

  addRole(name: string, permissions: Permission[]): Promise<unknown> {
    return this.admin('/add-role', { name, permissions });
  }

  bind(account: string, role: string, namespace?: string): Promise<unknown> {
    return this.admin('/add-role-binding', { account_name: account, role_name: role, ...(namespace ? { namespace } : {}) });
  }

  unbind(account: string, role: string, namespace?: string): Promise<unknown> {
    return this.admin('/delete-role-binding', { account_name: account, role_name: role, ...(namespace ? { namespace } : {}) });
  }

  /** A client home under this stack's temp dir. */
  home(name: string): string {
    const d = join(this.dir, 'clients', name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  /** Registers a teardown (e.g. a client daemon living in this stack's dir) run first by `stop()`, last-in first-out. */
  defer(fn: () => Promise<unknown>): void {
    this.deferred.push(fn);
  }

  /** Runs deferred teardowns, stops everything this stack started (registry, authn, authz, spy), then removes the temp dir. */
  async stop(keepDir = false): Promise<void> {
    for (const fn of this.deferred.reverse()) {
      try {
        await fn();
      } catch (e) {
        process.stderr.write(`e2e teardown: ${(e as Error).message}\n`);
      }
    }
    this.deferred = [];
    await Promise.all([this.registry?.stop(), this.authn?.stop(), this.authz?.stop(), this.spy.stop()]);
    if (!keepDir && process.env.TOLLGATE_E2E_KEEP !== '1') this.cleanupDir();
  }
}
