/**
 * `tollgate proxy` configuration: authn's own settings (keys, credential sources, authz, caches — the
 * same flags and `TOLLGATE_AUTHN_*` variables, read by authn's loadConfig so both stay one contract)
 * plus the proxy's (`TOLLGATE_PROXY_*`). Validated once at start; messages name the flag and variable.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { httpUrlField, parsedString } from '../../common/config-fields.js';
import { parseDurationSeconds } from '../../common/duration.js';
import { readSecretFile } from '../../common/secret.js';
import { loadConfig, type Config as AuthnConfig, type ServeFlags } from '../../authn-server/src/config.js';

export interface ProxyFlags extends ServeFlags {
  upstream?: string;
  mode?: string;
  upstreamAuthFile?: string;
  tokenRealm?: string;
  tlsCert?: string;
  tlsKey?: string;
  upstreamTimeout?: string;
}

export const PROXY_DEFAULTS = { listen: '127.0.0.1:5003', mode: 'token', upstreamTimeout: '30s' } as const;

export interface ProxyConfig {
  authn: AuthnConfig;
  upstream: URL;
  mode: 'token' | 'plain';
  /** The one service (token audience) the proxy guards: the upstream's `auth.token.service` in token mode. */
  service: string;
  /** `Authorization` value the proxy adds upstream in plain mode (from --upstream-auth-file). Never logged. */
  upstreamAuthorization?: string;
  /** authn's token endpoint, named in plain mode's Bearer challenge. */
  tokenRealm?: string;
  tls?: { cert: Buffer; key: Buffer };
  upstreamTimeoutMs: number;
}

const Schema = z.object({
  upstream: httpUrlField().refine((v) => {
    if (!URL.canParse(v)) return true; // httpUrlField names that problem (zod runs every refine)
    const u = new URL(v);
    return (u.pathname === '/' || u.pathname === '') && !u.search && !u.username && !u.password;
  }, 'must be the registry origin only (scheme://host:port, no path, query or credentials — use --upstream-auth-file)'),
  mode: z.enum(['token', 'plain']),
  tokenRealm: z.url({ protocol: /^https?$/, error: 'must be the http(s) URL of authn\'s token endpoint (…/auth)' }).optional(),
  upstreamTimeoutMs: parsedString((v) => {
    const s = parseDurationSeconds(v);
    if (s < 1 || s > 600) throw new Error(`"${v}" must be between 1s and 600s`);
    return Math.round(s * 1000);
  }),
});

const NAMES: Record<string, string> = {
  upstream: '--upstream / TOLLGATE_PROXY_UPSTREAM',
  mode: '--mode / TOLLGATE_PROXY_MODE',
  tokenRealm: '--token-realm / TOLLGATE_PROXY_TOKEN_REALM',
  upstreamTimeoutMs: '--upstream-timeout / TOLLGATE_PROXY_UPSTREAM_TIMEOUT',
};

/** `user:password` on one line → a Basic header value. */
function upstreamAuth(file: string): string {
  const text = readSecretFile(file, 'upstream credentials');
  if (!text.includes(':') || text.includes('\n')) throw new Error(`invalid --upstream-auth-file ${file}: expected one line "user:password"`);
  return `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;
}

function tls(cert: string | undefined, key: string | undefined): ProxyConfig['tls'] {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new Error('invalid --tls-cert / --tls-key: give both (TOLLGATE_PROXY_TLS_CERT / TOLLGATE_PROXY_TLS_KEY) or neither');
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f);
    } catch (e) {
      throw new Error(`cannot read ${what} ${f}: ${(e as Error).message}`);
    }
  };
  return { cert: read(cert, '--tls-cert'), key: read(key, '--tls-key') };
}

export function loadProxyConfig(flags: ProxyFlags, env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const e = (k: string) => env[`TOLLGATE_PROXY_${k}`];
  const authn = loadConfig({ ...flags, listen: flags.listen ?? e('LISTEN') ?? PROXY_DEFAULTS.listen }, env);
  const r = Schema.safeParse({
    upstream: flags.upstream ?? e('UPSTREAM'),
    mode: flags.mode ?? e('MODE') ?? PROXY_DEFAULTS.mode,
    tokenRealm: flags.tokenRealm ?? e('TOKEN_REALM'),
    upstreamTimeoutMs: flags.upstreamTimeout ?? e('UPSTREAM_TIMEOUT') ?? PROXY_DEFAULTS.upstreamTimeout,
  });
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const message = key === 'upstream' && flags.upstream === undefined && e('UPSTREAM') === undefined ? 'is required: the registry the proxy guards' : (issue?.message ?? 'invalid value');
    throw new Error(`invalid ${NAMES[key] ?? key}: ${message}`);
  }
  if (authn.services.length !== 1) throw new Error('invalid --service / TOLLGATE_AUTHN_SERVICE: the proxy guards one registry, give exactly one service');
  const authFile = flags.upstreamAuthFile ?? e('UPSTREAM_AUTH_FILE');
  if (r.data.mode === 'token' && authFile) throw new Error('invalid --upstream-auth-file: only for --mode plain (in token mode the proxy sends its own tokens)');
  if (r.data.mode === 'plain' && !r.data.tokenRealm) throw new Error('invalid --token-realm / TOLLGATE_PROXY_TOKEN_REALM: required with --mode plain (the URL of authn\'s /auth that clients get tokens from)');
  const tlsFiles = tls(flags.tlsCert ?? e('TLS_CERT'), flags.tlsKey ?? e('TLS_KEY'));
  return {
    authn,
    upstream: new URL(r.data.upstream),
    mode: r.data.mode,
    service: authn.services[0]!,
    ...(authFile ? { upstreamAuthorization: upstreamAuth(authFile) } : {}),
    ...(r.data.tokenRealm ? { tokenRealm: r.data.tokenRealm } : {}),
    ...(tlsFiles ? { tls: tlsFiles } : {}),
    upstreamTimeoutMs: r.data.upstreamTimeoutMs,
  };
}
