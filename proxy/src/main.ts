/**
 * `tollgate proxy`: reads flags/env, builds authn's core (keys, credential chain, throttle, authz client,
 * decision path — authn-server/src/core.ts, the same factory `authn serve` uses), listens (HTTPS with
 * --tls-cert/--tls-key), logs one `listening` line (never the upstream credentials) and shuts down
 * cleanly on SIGTERM/SIGINT. `/healthz`, `/readyz` and `/metrics` are served beside `/v2/` (probes.ts).
 */
import { createMetrics } from '../../authn-server/src/metrics/index.js';
import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { createLogger, type Logger } from '../../common/logger.js';
import { listen, serveUntilSignal } from '../../common/serve.js';
import { createAuthnCore } from '../../authn-server/src/core.js';
import { clientIpResolver } from '../../authn-server/src/request/client-ip.js';
import { PairQueue } from '../../authn-server/src/throttle/pair-queue.js';
import { createTokenIssuer } from '../../authn-server/src/token/issuer.js';
import { createProxyHandler, type ProxyMode } from './app.js';
import { MAX_HEADER_BYTES } from '../../authn-server/src/credentials/limits.js';
import { loadProxyConfig, type ProxyFlags } from './config.js';
import { createProxyMetrics } from './metrics.js';
import { withProbes } from './probes.js';
import { upstreamOf } from './forward.js';
import { upstreamTokens } from './upstream-token.js';

export interface RunningProxy {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startProxy(flags: ProxyFlags, log?: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningProxy> {
  const cfg = loadProxyConfig(flags, env);
  const a = cfg.authn;
  const logger = log ?? createLogger({ name: 'proxy', level: a.logLevel });
  // authn's core series keep their names; the process's default collectors are the proxy's (tollgate_proxy_*).
  const core = await createAuthnCore(a, logger, createMetrics(false));
  const metrics = createProxyMetrics(core.metrics.registry);
  const issuer = createTokenIssuer({ keys: core.keys, issuer: a.issuer, tokenTtlSec: a.tokenTtlSec, refreshTtlSec: a.refreshTtlSec });
  const mode: ProxyMode =
    cfg.mode === 'token'
      ? { kind: 'token', tokens: upstreamTokens(issuer, cfg.service, a.tokenTtlSec), realm: a.realm }
      : { kind: 'plain', tokenRealm: cfg.tokenRealm!, ...(cfg.upstreamAuthorization ? { upstreamAuthorization: cfg.upstreamAuthorization } : {}) };
  const upstream = upstreamOf(cfg.upstream, cfg.upstreamTimeoutMs, logger, metrics.observeUpstream);
  const handler = createProxyHandler({
    mode,
    auth: {
      identity: { credentials: core.credentials, throttle: core.throttle, accountGuard: core.accountGuard, loginQueue: new PairQueue(), issuer, anonymous: a.anonymous, logger },
      bearer: { keys: core.keys, issuer: a.issuer, service: cfg.service },
      service: cfg.service,
    },
    decide: core.decide,
    upstream,
    clientIp: clientIpResolver(a.trustProxy),
    service: cfg.service,
    logger,
    metrics,
  });
  const listener = withProbes(handler, {
    authz: core.authz,
    metrics: core.metrics,
    logger,
    backends: core.credentials.backends,
    ...(a.metricsToken ? { metricsToken: a.metricsToken } : {}),
  });
  const cleanup = () => {
    core.close();
    upstream.agent.destroy();
  };
  // No whole-request deadline: a 1 GiB blob takes what it takes; silence is bounded by --upstream-timeout.
  const fields = { mode: cfg.mode, service: cfg.service, issuer: a.issuer, kid: core.keys.signing.kid, tls: cfg.tls !== undefined };
  const { server, url, close } = await listen(listener, a.listen, { logger, fields, cleanup, requestTimeoutMs: 0, maxHeaderSize: MAX_HEADER_BYTES, ...(cfg.tls ? { tls: cfg.tls } : {}) });
  // A silent client is cut later than a silent upstream, so the upstream's 503 always reaches the client first.
  server.timeout = cfg.upstreamTimeoutMs + 5000;
  return { server, url, close };
}

/**
 * The `tollgate proxy` process: V8's incremental marking off before anything is served. Every 64 KiB a socket
 * reads is a fresh external buffer; on the proxy's ~18 MB heap (authn's core) V8 answered that stream with a
 * mark-compact every few MB moved (28–63 per 256 MiB measured with --trace-gc), which doubled the proxy's CPU
 * per GiB over a bare relay's. Without incremental marking the buffers die in scavenges (0 mark-compacts in the
 * same transfer) and a full collection waits for the old generation's own limit. Not in NODE_OPTIONS (node
 * refuses this V8 flag there); not in startProxy (tests run it inside their own process). docs/proxy.md "Memory and CPU".
 */
export function serve(flags: ProxyFlags): Promise<void> {
  setFlagsFromString('--no-incremental-marking');
  return serveUntilSignal('tollgate proxy', 'proxy', () => startProxy(flags));
}
