/**
 * Mocha glue: a stack per test file (started in `before`, stopped in `after` even when a test
 * failed), the demo seed every scenario shares, unique test images, and the missing-binary rule:
 * skipped locally (with the install command in the title), a failure when `CI=true`.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { makeOciImage, type OciImage } from '../../scripts/make-oci-image.js';
import { Stack, type StackOptions } from './stack.js';

export const INSTALL = 'sudo bash scripts/install-e2e-deps.sh';
const PACKAGE: Record<string, string> = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  podman: 'podman',
  containerd: 'docker.io',
  ctr: 'docker.io',
  dockerd: 'docker.io',
  docker: 'docker.io',
};

export function missingBins(bins: string[]): string[] {
  return bins.filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
}

/**
 * When a binary is missing: skip locally (saying how to install it), fail under `CI=true`, where
 * every scenario must really run. In a `before` hook it covers the whole suite, in a test that test.
 */
export function requireBins(ctx: Mocha.Context, bins: string[]): void {
  const missing = missingBins(bins);
  if (!missing.length) return;
  const pkgs = [...new Set(missing.map((b) => PACKAGE[b] ?? b))].join(' ');
  const msg = `missing ${missing.join(', ')} — install with: ${INSTALL} (or apt-get install ${pkgs})`;
  if (process.env.CI === 'true') throw new Error(`${msg}; CI=true, so this is a failure`);
  const inTest = (ctx.test as { type?: string } | undefined)?.type === 'test';
  const tests = inTest && ctx.test ? [ctx.test] : (ctx.test?.parent?.tests ?? []);
  for (const t of tests) t.title += ` [skipped: ${msg}]`;
  ctx.skip();
}

/** Users every scenario can use (passwords are per-run random). */
export function demoUsers(): Record<string, string> {
  const pw = () => randomUUID();
  return { alice: pw(), bob: pw(), carol: pw(), root: pw() };
}

/**
 * alice: read-write in team-a; bob: read-write in team-b; carol: pull-only in team-a;
 * root: every repository and the catalog.
 */
export async function seedTeams(s: Stack): Promise<void> {
  await s.addRole('ns-rw', [{ request_type: 'repository', name: '${namespace}/**', actions: ['pull', 'push'] }]);
  await s.addRole('ns-ro', [{ request_type: 'repository', name: '${namespace}/**', actions: ['pull'] }]);
  await s.addRole('all', [
    { request_type: 'repository', name: '**', actions: ['*'] },
    { request_type: 'registry', name: 'catalog', actions: ['*'] },
  ]);
  await s.bind('alice', 'ns-rw', 'team-a');
  await s.bind('bob', 'ns-rw', 'team-b');
  await s.bind('carol', 'ns-ro', 'team-a');
  await s.bind('root', 'all');
}

export interface StackHandle {
  (): Stack;
  users: Record<string, string>;
  creds(user: string): { user: string; password: string };
}

/** Registers before/after hooks that run a seeded stack for the enclosing `describe`. */
export function useStack(bins: string[], opts: Partial<StackOptions> = {}, seed: (s: Stack) => Promise<void> = seedTeams): StackHandle {
  let stack: Stack | undefined;
  const users = opts.users ?? demoUsers();
  before(async function () {
    this.timeout(180000);
    requireBins(this, ['docker-registry', ...bins]);
    stack = await Stack.start({ ...opts, users });
    await seed(stack);
  });
  after(async function () {
    this.timeout(60000);
    await stack?.stop();
  });
  const handle = (() => {
    if (!stack) throw new Error('stack not started');
    return stack;
  }) as StackHandle;
  handle.users = users;
  handle.creds = (user: string) => {
    const password = users[user];
    if (password === undefined) throw new Error(`no such e2e user ${user}`);
    return { user, password };
  };
  return handle;
}

/** An OCI layout with content unique to this run (so skopeo's shared blob cache never interferes). */
export function uniqueImage(s: Stack, name: string): OciImage {
  return makeOciImage(join(s.dir, 'images', name), 'v1', { files: { 'id.txt': `${name} ${randomUUID()}\n` } });
}

/** A fresh output directory for a pull. */
export function outDir(s: Stack, name: string): string {
  return join(s.dir, 'pulled', `${name}-${randomUUID().slice(0, 8)}`);
}

/**
 * The registry's own denial (its 401 body, error code DENIED) as skopeo, podman and docker print it
 * when a valid token lacks the access asked for.
 */
export const REGISTRY_DENIED = /denied: requested access to the resource is denied/;
