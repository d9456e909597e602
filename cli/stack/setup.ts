/**
 * First-run material for `tollgate start`, all under the data dir and never overwritten:
 * admin/client tokens, signing key + certificate bundle, demo users, a demo OCI image.
 * The registry config is rewritten on every start because ports may change.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import bcrypt from 'bcryptjs';
import { makeOciImage } from '../../scripts/make-oci-image.js';

export const DEMO_USERS = ['alice', 'bob', 'admin'] as const;
export type DemoCreds = Record<(typeof DEMO_USERS)[number], string>;

export interface DataPaths {
  dir: string;
  adminToken: string;
  clientToken: string;
  /** Bearer token authn's /metrics requires (Prometheus sends it). */
  metricsToken: string;
  keyDir: string;
  key: string;
  cert: string;
  bundle: string;
  db: string;
  users: string;
  demoCreds: string;
  demoImage: string;
  logs: string;
  registryDir: string;
}

export function dataPaths(dir: string): DataPaths {
  const keyDir = join(dir, 'keys');
  return {
    dir,
    adminToken: join(dir, 'admin.token'),
    clientToken: join(dir, 'client.token'),
    metricsToken: join(dir, 'metrics.token'),
    keyDir,
    key: join(keyDir, 'token.key'),
    cert: join(keyDir, 'token.crt'),
    bundle: join(keyDir, 'bundle.pem'),
    db: join(dir, 'authz.db'),
    users: join(dir, 'users.yml'),
    demoCreds: join(dir, 'demo-credentials.json'),
    demoImage: join(dir, 'demo-image'),
    logs: join(dir, 'logs'),
    registryDir: join(dir, 'registry'),
  };
}

/** How to run this same CLI again as a child (works from `dist/` and from source under tsx). */
export function selfCommand(): { cmd: string; args: string[] } {
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot tell how this CLI was started (no argv[1])');
  return { cmd: process.execPath, args: [...process.execArgv, entry] };
}

function runSelf(args: string[]): void {
  const self = selfCommand();
  const r = spawnSync(self.cmd, [...self.args, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tollgate ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout || r.error?.message}`);
}

/** Creates whatever is missing; returns which items were created (for the banner). */
export function prepareData(p: DataPaths): { created: string[]; creds: DemoCreds } {
  const created: string[] = [];
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  mkdirSync(p.logs, { recursive: true, mode: 0o700 });
  // skopeo's oci: destination needs its parent to exist (the banner's pull example writes here).
  mkdirSync(join(p.dir, 'pulled'), { recursive: true });
  for (const file of [p.adminToken, p.clientToken, p.metricsToken]) {
    if (existsSync(file)) continue;
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    created.push(file);
  }
  // Either half alone is useless (a certificate without its key, or a key without the certificate
  // authn sends as x5c): make a new pair. The bundle is not rewritten (it may hold other certificates);
  // start warns when it lacks the new one.
  const keyPair = [existsSync(p.key), existsSync(p.cert)];
  if (!keyPair[0] || !keyPair[1]) {
    runSelf(['keys', 'generate', '--out', p.keyDir, ...(keyPair[0] || keyPair[1] ? ['--force'] : [])]);
    created.push(p.key, p.cert);
  }
  if (!existsSync(p.bundle)) {
    runSelf(['keys', 'bundle', '--out', p.bundle, p.cert]);
    created.push(p.bundle);
  }
  // Passwords are known only where we wrote them (demo-credentials.json); a users file is never overwritten.
  const known = existsSync(p.demoCreds) ? (JSON.parse(readFileSync(p.demoCreds, 'utf8')) as DemoCreds) : undefined;
  let creds: DemoCreds;
  if (existsSync(p.users)) {
    creds = known ?? { alice: '(see users.yml)', bob: '(see users.yml)', admin: '(see users.yml)' };
  } else {
    creds = known ?? { alice: randomBytes(9).toString('base64url'), bob: randomBytes(9).toString('base64url'), admin: randomBytes(9).toString('base64url') };
    const users = Object.fromEntries(DEMO_USERS.map((u) => [u, { password: bcrypt.hashSync(creds[u], 10), labels: {} }]));
    writeFileSync(p.users, stringify({ users }), { mode: 0o600, flag: 'wx' });
    created.push(p.users);
    if (!known) {
      writeFileSync(p.demoCreds, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      created.push(p.demoCreds);
    }
  }
  if (!existsSync(join(p.demoImage, 'index.json'))) {
    makeOciImage(p.demoImage, 'v1', { files: { 'hello.txt': 'hello from the tollgate demo image\n' } });
    created.push(p.demoImage);
  }
  return { created, creds };
}

const pemBlocks = (pem: string): string[] => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

/** Whether the registry's bundle holds the certificate authn signs with (else every token is rejected). */
export function bundleHasCert(bundle: string, cert: string): boolean {
  const want = pemBlocks(readFileSync(cert, 'utf8'))[0];
  if (!want) return false;
  const fp = new X509Certificate(want).fingerprint256;
  return pemBlocks(readFileSync(bundle, 'utf8')).some((b) => new X509Certificate(b).fingerprint256 === fp);
}

export interface RegistryConfig {
  port: number;
  host: string;
  realm: string;
  service: string;
  issuer: string;
  bundle: string;
}

/** Writes the Distribution registry config (token auth against authn) and returns its path. */
export function writeRegistryConfig(p: DataPaths, c: RegistryConfig): string {
  const storage = join(p.registryDir, 'storage');
  mkdirSync(storage, { recursive: true });
  const config = {
    version: 0.1,
    log: { level: 'info', formatter: 'text' },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
    http: { addr: `${c.host}:${c.port}`, secret: randomBytes(16).toString('hex') },
    auth: { token: { realm: c.realm, service: c.service, issuer: c.issuer, rootcertbundle: c.bundle } },
  };
  const path = join(p.registryDir, 'config.yml');
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}
