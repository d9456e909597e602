/**
 * A controller test world: the SIMULATED Kubernetes API server (kube-api-sim) with a SIMULATED cluster
 * issuer behind its TokenRequest, the real authz (its app on a real SQLite file, on a loopback port
 * that can be closed and reopened to take authz "down"), and controllers built by the same
 * `buildController` the command uses. The controller's authz token is the admin token until scoped
 * `robots:manage` tokens (issue 18) land.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../common/logger.js';
import { createApp } from '../../authz-server/src/app.js';
import { AuthzStore } from '../../authz-server/src/store/decision-cache.js';
import { SqliteStore } from '../../authz-server/src/store/sqlite/index.js';
import { KubeApiSim } from '../../e2e/harness/kube-api-sim.js';
import { SimulatedIssuer } from '../../e2e/harness/simulated-issuer.js';
import { loadConfig } from '../src/config.js';
import type { Controller } from '../src/controller.js';
import { buildController } from '../src/main.js';

export const ADMIN = 'controller-test-admin-0123456789abcdef';
export const CLIENT = 'controller-test-client-0123456789abcdef';
export const HOST = 'registry.test';
export const AUDIENCE = 'registry.test';

export class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'tollgate-controller-'));
  readonly issuer = new SimulatedIssuer('RS256');
  sim!: KubeApiSim;
  store!: AuthzStore;
  authzUrl = '';
  /** Every request authz received (method and path with query), in order. */
  readonly authzRequests: Array<{ method: string; path: string }> = [];
  /**
   * A stricter authz (SIMULATED refusal): when this returns a message for a request, authz's front answers
   * 400 with it in authz's error shape instead of passing the request on.
   */
  refuse: ((method: string, path: string) => string | undefined) | undefined;
  private authzServer: Server | undefined;
  private authzPort = 0;
  private readonly controllers: Controller[] = [];

  async start(simOpts: { maxTokenExpirationSeconds?: number } = {}): Promise<this> {
    await this.issuer.start();
    this.sim = await new KubeApiSim({ issuer: this.issuer, bookmarkMs: 500, ...simOpts }).start();
    this.store = await AuthzStore.create(SqliteStore.open(join(this.dir, 'authz.db')));
    writeFileSync(join(this.dir, 'authz.token'), ADMIN);
    await this.authzUp();
    return this;
  }

  async authzUp(): Promise<void> {
    const app = createApp({ store: this.store, logger: createLogger({ name: 'authz-test', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT } });
    this.authzServer = createServer((req, res) => {
      this.authzRequests.push({ method: req.method ?? '', path: req.url ?? '' });
      const refusal = this.refuse?.(req.method ?? '', req.url ?? '');
      if (refusal === undefined) return void app(req, res);
      res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'VALIDATION', message: refusal } }));
    });
    await new Promise<void>((r) => this.authzServer!.listen(this.authzPort, '127.0.0.1', r));
    this.authzPort = (this.authzServer.address() as AddressInfo).port;
    this.authzUrl = `http://127.0.0.1:${this.authzPort}`;
  }

  async authzDown(): Promise<void> {
    const s = this.authzServer;
    this.authzServer = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  /** A controller as `tollgate controller` builds it, with test timings. */
  controller(flags: Record<string, unknown> = {}, lease = false): Controller {
    const cfg = loadConfig({
      k8sApiUrl: this.sim.url, authzUrl: this.authzUrl, authzTokenFile: join(this.dir, 'authz.token'), registryHost: HOST, audience: AUDIENCE,
      allowPush: ['team-*'], leaderElect: lease, logLevel: 'silent', ...flags,
    }, {});
    const c = buildController(cfg, createLogger({ name: 'controller-test', level: process.env.CONTROLLER_TEST_LOG ?? 'silent' }), { backoffBaseMs: 100, staleAfterMs: 5000, leaseTiming: { leaseSec: 2, renewDeadlineMs: 1500, retryMs: 300 } });
    this.controllers.push(c);
    return c;
  }

  async stop(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.close()));
    await this.authzDown();
    await this.store.close();
    await this.sim.stop();
    await this.issuer.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A namespace's service accounts, as `kubectl create serviceaccount` would make them. */
  serviceAccount(ns: string, name: string): void {
    this.sim.put(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } });
  }

  credential(ns: string, name: string, spec: Record<string, unknown>): void {
    this.sim.put(`/apis/registry.tollgate.dev/v1alpha1/namespaces/${ns}/registrycredentials`, { apiVersion: 'registry.tollgate.dev/v1alpha1', kind: 'RegistryCredential', metadata: { name }, spec });
  }

  cr(ns: string, name: string) {
    return this.sim.store.get('registrycredentials', ns, name) as { metadata: { generation: number; finalizers?: string[] }; spec: Record<string, unknown>; status?: Record<string, any> } | undefined;
  }

  ready(ns: string, name: string): { status: string; reason: string; message: string } | undefined {
    return this.cr(ns, name)?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
  }

  secret(ns: string, name: string): { username: string; password: string } | undefined {
    const s = this.sim.store.get('secrets', ns, name) as { data?: Record<string, string> } | undefined;
    const raw = s?.data?.['.dockerconfigjson'];
    if (!raw) return undefined;
    const e = (JSON.parse(Buffer.from(raw, 'base64').toString()) as { auths: Record<string, { username: string; password: string }> }).auths[HOST];
    return e && { username: e.username, password: e.password };
  }

  pullSecrets(ns: string, sa: string): string[] {
    const o = this.sim.store.get('serviceaccounts', ns, sa) as { imagePullSecrets?: Array<{ name: string }> } | undefined;
    return (o?.imagePullSecrets ?? []).map((x) => x.name);
  }

  /** What authz says about a robot secret (client token, uncached: the truth at this instant). */
  async verify(account: string, secret: string): Promise<boolean> {
    const r = await fetch(`${this.authzUrl}/robots/verify`, { method: 'POST', headers: { authorization: `Bearer ${CLIENT}`, 'content-type': 'application/json' }, body: JSON.stringify({ account, secret }) });
    return ((await r.json()) as { valid: boolean }).valid;
  }

  async robots(ns: string): Promise<Array<{ account: string; actions: string[]; rotated_at: string | null }>> {
    const r = await fetch(`${this.authzUrl}/robots?namespace=${ns}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return ((await r.json()) as { robots: Array<{ account: string; actions: string[]; rotated_at: string | null }> }).robots;
  }

  events(ns: string): Array<{ reason: string; note: string; type: string; regarding: { name: string } }> {
    return this.sim.store.list('events', ns) as unknown as Array<{ reason: string; note: string; type: string; regarding: { name: string } }>;
  }
}

/** Polls `fn` until it returns a truthy value or `ms` pass (then throws with `what`). */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, ms = 5000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}
