/**
 * The real Distribution registry (`docker-registry serve`, Debian's 2.8.2) on a free loopback port,
 * with token auth (realm = authn), htpasswd auth, or no auth. Storage lives in the caller's dir and
 * survives `restart()`, so pushed images are still there after a config change.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import bcrypt from 'bcryptjs';
import { freePort, Proc, waitForHttp } from './procs.js';

export type RegistryAuth =
  | { token: { realm: string; service: string; issuer: string; rootcertbundle: string } }
  | { htpasswd: { users: Record<string, string>; bcryptCost?: number } }
  | { none: true };

export interface Registry {
  /** `127.0.0.1:PORT`, as clients write it in image references. */
  host: string;
  url: string;
  proc: Proc;
  /** Rewrites the config (same port and storage) and starts a new process. */
  restart(auth?: RegistryAuth): Promise<void>;
  stop(): Promise<void>;
}

function authConfig(dir: string, auth: RegistryAuth): Record<string, unknown> | undefined {
  if ('token' in auth) return { token: { ...auth.token } };
  if ('htpasswd' in auth) {
    const path = join(dir, 'htpasswd');
    const lines = Object.entries(auth.htpasswd.users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, auth.htpasswd.bcryptCost ?? 5)}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return { htpasswd: { realm: 'tollgate-e2e', path } };
  }
  return undefined;
}

function writeConfig(dir: string, port: number, auth: RegistryAuth): string {
  const storage = join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const a = authConfig(dir, auth);
  const config = {
    version: 0.1,
    log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, secret: 'tollgate-e2e-not-a-secret' },
    ...(a ? { auth: a } : {}),
  };
  const path = join(dir, 'config.yml');
  writeFileSync(path, stringify(config));
  return path;
}

/** Starts `docker-registry serve` in `dir` and waits until `/v2/` answers (401 with auth, 200 without). */
export async function startRegistry(dir: string, auth: RegistryAuth, bin = 'docker-registry'): Promise<Registry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let current = auth;
  const launch = async (): Promise<Proc> => {
    const config = writeConfig(dir, port, current);
    const proc = new Proc({ name: 'docker-registry', cmd: bin, args: ['serve', config], logFile: join(dir, 'registry.log') });
    await waitForHttp(`${url}/v2/`, 'none' in current ? [200] : [401], proc, 20000);
    return proc;
  };
  const reg: Registry = {
    host: `127.0.0.1:${port}`,
    url,
    proc: await launch(),
    async restart(next) {
      await reg.proc.stop();
      if (next) current = next;
      reg.proc = await launch();
    },
    async stop() {
      await reg.proc.stop();
    },
  };
  return reg;
}
