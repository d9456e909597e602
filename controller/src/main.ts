/**
 * `tollgate controller`: the only file that reads flags/env and listens. Wires the API connection
 * (common/kube: in-cluster or --k8s-api-url, one keep-alive client), the authz robot client, the
 * reconcile dependencies, the controller, and a small HTTP server for the kubelet's probes (`/healthz`
 * always 200 while running, `/readyz` 200 once listed and while the watch keeps the cache confirmed) and
 * `/metrics` (no secrets in it).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../common/logger.js';
import { readSecretFile } from '../../common/secret.js';
import { listen, serveUntilSignal } from '../../common/serve.js';
import { resolveConnection } from '../../common/kube/connection.js';
import { AuthzClient } from './authz-client.js';
import { loadConfig, type ControllerConfig } from './config.js';
import { Controller } from './controller.js';
import { globMatch } from './decide/spec.js';
import { KubeClient } from './kube/client.js';
import { createEventRecorder } from './kube/events.js';

/** Timings tests shorten; production uses the defaults (lease 15 s, renew deadline 10 s, retry 2 s). */
export interface Tuning {
  backoffBaseMs?: number;
  staleAfterMs?: number;
  leaseTiming?: { leaseSec: number; renewDeadlineMs: number; retryMs: number };
}

export function buildController(cfg: ControllerConfig, logger = createLogger({ name: 'tollgate-controller', ...(cfg.logLevel ? { level: cfg.logLevel } : {}) }), tuning: Tuning = {}): Controller {
  const conn = resolveConnection({ apiUrl: cfg.k8sApiUrl, tokenFile: cfg.k8sTokenFile, caFile: cfg.k8sCaFile }, process.env, 'tollgate controller');
  // Read once at start so a missing file fails now; re-read per call so a rotated token is picked up.
  readSecretFile(cfg.authzTokenFile, '--authz-token-file');
  const authz = new AuthzClient(cfg.authzUrl, () => readSecretFile(cfg.authzTokenFile, '--authz-token-file'));
  // One keep-alive client for every call and the watch (a new TCP+TLS handshake per call costs the API server).
  const kube = new KubeClient(conn, { userAgent: 'tollgate-controller' });
  const identity = cfg.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
  return new Controller(
    {
      kube,
      authz,
      events: createEventRecorder(kube, identity, logger),
      logger,
      now: Date.now,
      policy: { maxExpiration: cfg.tokenMaxLifetime, pushAllowed: (ns) => cfg.allowPush.some((g) => globMatch(g, ns)) },
      registryHost: cfg.registryHost,
      audience: cfg.audience ?? cfg.registryHost,
      tokenUsername: cfg.tokenUsername,
      maxTokenAge: cfg.tokenMaxAge,
    },
    {
      workers: cfg.workers,
      resyncMs: cfg.resync * 1000,
      ...(tuning.backoffBaseMs ? { backoffBaseMs: tuning.backoffBaseMs } : {}),
      ...(tuning.staleAfterMs ? { staleAfterMs: tuning.staleAfterMs } : {}),
      ...(cfg.leaderElect ? { lease: { namespace: cfg.leaseNamespace, name: cfg.leaseName, identity, ...tuning.leaseTiming } } : {}),
    },
  );
}

export async function runController(flags: Record<string, unknown>): Promise<void> {
  await serveUntilSignal('tollgate controller', 'tollgate-controller', async () => {
    const cfg = loadConfig(flags);
    const logger = createLogger({ name: 'tollgate-controller', ...(cfg.logLevel ? { level: cfg.logLevel } : {}) });
    const controller = buildController(cfg, logger);
    const http = await listen(
      (req, res) => {
        const path = (req.url ?? '').split('?')[0];
        if (path === '/metrics') {
          void controller.metrics.registry.metrics().then((text) => {
            res.writeHead(200, { 'content-type': controller.metrics.registry.contentType });
            res.end(text);
          });
          return;
        }
        const ok = path === '/healthz' || (path === '/readyz' && controller.informer.ready());
        res.writeHead(path === '/healthz' || path === '/readyz' ? (ok ? 200 : 503) : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok, leader: controller.leader?.isLeader() ?? true }));
      },
      cfg.listen,
      { logger, fields: { registryHost: cfg.registryHost, leaderElect: cfg.leaderElect }, cleanup: () => undefined },
    );
    controller.start();
    return {
      close: async () => {
        await controller.close();
        await http.close();
      },
    };
  });
}
