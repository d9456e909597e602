/**
 * The repository's docker-compose.yml run as a user would: a fresh directory holding a copy of the file,
 * `scripts/gen-certs.sh` output and a users file in certs/ (chowned to uid 1000 as docs/deploy.md §3
 * says), then `docker compose` against the suite's private engine. Clients (curl, skopeo, backup.sh)
 * run in the engine's network namespace, where the loopback-published ports are.
 */
import { chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { makeOciImage, type OciImage } from '../../scripts/make-oci-image.js';
import { type Engine, http } from './engine.js';
import { ROOT, run, type RunResult } from './procs.js';
import type { Creds } from './skopeo.js';

export const AUTHZ = 'http://127.0.0.1:5001';
export const AUTHN = 'http://127.0.0.1:5002';
export const REGISTRY = '127.0.0.1:5000';
export const SERVICE = 'tollgate-registry';

export class ComposeProject {
  readonly users: Record<string, string> = { alice: randomUUID(), bob: randomUUID() };
  readonly adminToken: string;

  private constructor(
    readonly engine: Engine,
    readonly dir: string,
  ) {
    this.adminToken = readFileSync(join(dir, 'certs', 'admin.token'), 'utf8').trim();
  }

  /** A fresh checkout's view: the compose file, gen-certs.sh output and a users file. */
  static async create(engine: Engine, dir: string): Promise<ComposeProject> {
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(ROOT, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
    const gen = await run('bash', [join(ROOT, 'scripts', 'gen-certs.sh'), '--out', join(dir, 'certs')]);
    if (gen.code !== 0) throw new Error(`gen-certs.sh: ${gen.out}`);
    const p = new ComposeProject(engine, dir);
    const users = Object.entries(p.users).map(([u, pw]) => `  ${u}:\n    password: "${bcrypt.hashSync(pw, 4)}"\n`);
    writeFileSync(join(dir, 'certs', 'users.yaml'), `users:\n${users.join('')}`, { mode: 0o600 });
    // docs/deploy.md §3: secrets are bind-mounted with their host owner, and the servers run as uid 1000.
    for (const f of ['token.key', 'admin.token', 'client.token', 'users.yaml']) chownSync(join(dir, 'certs', f), 1000, 1000);
    return p;
  }

  creds(user: string): Creds {
    return { user, password: this.users[user] ?? '' };
  }

  compose(args: string[], timeoutMs = 240_000): Promise<RunResult> {
    const env = { TOLLGATE_IMAGE: this.engine.images.tollgate, REGISTRY_IMAGE: this.engine.images.registry };
    return this.engine.docker(['compose', ...args], { cwd: this.dir, env, timeoutMs });
  }

  /** `docker compose up -d --wait`, failing with the containers' logs when it does not come up healthy. */
  async up(): Promise<void> {
    const r = await this.compose(['up', '-d', '--wait']);
    if (r.code !== 0) throw new Error(`compose up: ${r.out}\n${(await this.compose(['logs', '--no-color', '--tail', '30'])).out}`);
  }

  /** The container id of a service (the first one when scaled). */
  async container(service: string): Promise<string> {
    const r = await this.compose(['ps', '-q', service]);
    const id = r.stdout.trim().split('\n')[0];
    if (!id) throw new Error(`no container for ${service}: ${r.out}`);
    return id;
  }

  /** The store as GET /export returns it, without its timestamp. */
  async exported(): Promise<unknown> {
    const r = await this.admin('/export');
    if (r.status !== 200) throw new Error(`/export: ${r.status} ${r.body}`);
    const { exported_at: _, ...rest } = JSON.parse(r.body) as Record<string, unknown>;
    return rest;
  }

  admin(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<{ status: number; body: string }> {
    return http(this.engine, AUTHZ + path, { method, bearer: this.adminToken, ...(body === undefined ? {} : { json: body }) });
  }

  /** alice read-write in team-a, bob read-write in team-b (the demo roles). */
  async seed(): Promise<void> {
    const rw = [{ request_type: 'repository', name: '${namespace}/**', actions: ['pull', 'push'] }];
    for (const [path, body] of [
      ['/add-role', { name: 'ns-rw', permissions: rw }],
      ['/add-role-binding', { account_name: 'alice', role_name: 'ns-rw', namespace: 'team-a' }],
      ['/add-role-binding', { account_name: 'bob', role_name: 'ns-rw', namespace: 'team-b' }],
    ] as const) {
      const r = await this.admin(path, body);
      if (r.status >= 300) throw new Error(`${path}: ${r.status} ${r.body}`);
    }
  }

  /** GET /auth with Basic credentials for one scope, as a registry client asks. */
  token(user: string, scope: string): Promise<{ status: number; body: string }> {
    const q = `service=${SERVICE}&scope=${encodeURIComponent(scope)}`;
    return http(this.engine, `${AUTHN}/auth?${q}`, { user: `${user}:${this.users[user] ?? ''}` });
  }

  image(name: string): OciImage {
    return makeOciImage(join(this.dir, 'images', name), 'v1', { files: { 'id.txt': `${name} ${randomUUID()}\n` } });
  }

  skopeo(args: string[]): Promise<RunResult> {
    const home = join(this.dir, 'skopeo');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'auth.json'), '{}');
    return this.engine.inNet('skopeo', args, { env: { HOME: home, REGISTRY_AUTH_FILE: join(home, 'auth.json'), XDG_RUNTIME_DIR: home } });
  }

  push(img: OciImage, repo: string, c: Creds): Promise<RunResult> {
    return this.skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `${c.user}:${c.password}`, `oci:${img.dir}:${img.tag}`, `docker://${REGISTRY}/${repo}`]);
  }

  pull(repo: string, c: Creds): Promise<RunResult> {
    mkdirSync(join(this.dir, 'pulled'), { recursive: true });
    const out = join(this.dir, 'pulled', randomUUID());
    return this.skopeo(['copy', '--src-tls-verify=false', '--src-creds', `${c.user}:${c.password}`, `docker://${REGISTRY}/${repo}`, `oci:${out}:pulled`]);
  }
}
