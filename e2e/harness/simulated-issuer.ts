/**
 * SIMULATED Kubernetes service-account issuer: what a cluster's API server serves for workload identity,
 * because no API server can run here. Real HTTP on 127.0.0.1, the real wire format:
 * - `GET /.well-known/openid-configuration` → `{issuer, jwks_uri, response_types_supported: ["id_token"],
 *   subject_types_supported: ["public"], id_token_signing_alg_values_supported: [...]}` (as the API server
 *   publishes it), and `GET /openid/v1/jwks` → `{keys: [...]}` (the API server's default path);
 * - tokens shaped exactly like 1.34 projected tokens: `aud` array, `exp`, `iat`, `nbf` (= iat), `iss`, `jti`,
 *   `sub` = `system:serviceaccount:<ns>:<sa>`, and the nested `kubernetes.io` claim (namespace, serviceaccount,
 *   and for pod-bound tokens pod + node), header `{alg, kid}`.
 * Tests can rotate the key (new kid), take the issuer down (503), require a bearer token, and count fetches.
 */
import { createHash, createHmac, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWTPayload } from 'jose';

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function newSigningKey(alg: 'RS256' | 'ES256' = 'RS256'): SigningKey {
  const pair = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // The API server's kid: base64url(SHA-256 of the DER public key).
  const kid = createHash('sha256').update(pair.publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
  return { kid, alg, ...pair };
}

export interface ProjectedTokenOptions {
  namespace?: string;
  serviceAccount?: string;
  /** Pod-bound (kubelet-minted) tokens name the pod and node; default true. */
  pod?: string | false;
  audiences?: string[];
  /** Lifetime in seconds (default 3600, the kubelet's default for projected volumes). */
  ttl?: number;
  /** Issue time, epoch seconds (default now). */
  iat?: number;
  /** Claims overriding or added to the projected shape (undefined deletes). */
  claims?: Record<string, unknown>;
  /** Header fields added (e.g. crit, cty) or a key other than the issuer's current one. */
  header?: Record<string, unknown>;
  key?: SigningKey;
}

export class SimulatedIssuer {
  server!: Server;
  url = '';
  keys: SigningKey[] = [];
  /** `down`: every request answers 503. */
  down = false;
  /** When set, discovery and JWKS need `Authorization: Bearer <token>` (like the API server's default RBAC). */
  requireBearer: string | undefined;
  readonly requests: Array<{ path: string; authorization: string | undefined; at: number }> = [];
  /** Discovery names this as `jwks_uri` instead of its own JWKS (another origin, for the bearer-token rule). */
  jwksUri: string | undefined;
  /** JWKS answers 200 and then one byte every `dripMs` (an endpoint that holds a fetch without going idle). */
  dripMs: number | undefined;

  constructor(readonly alg: 'RS256' | 'ES256' = 'RS256') {
    this.keys = [newSigningKey(alg)];
  }

  get key(): SigningKey {
    return this.keys[this.keys.length - 1]!;
  }

  /** Publishes a new key (new kid) next to the old one and signs with it from now on. */
  rotate(dropOld = false): SigningKey {
    const k = newSigningKey(this.alg);
    this.keys = dropOld ? [k] : [...this.keys, k];
    return k;
  }

  /** Back to the first key, up, no bearer, no recorded requests (one issuer shared by many tests). */
  reset(): void {
    this.keys = [this.keys[0]!];
    this.down = false;
    this.jwksUri = undefined;
    this.dripMs = undefined;
    this.requireBearer = undefined;
    this.requests.length = 0;
  }

  jwksFetches(): number {
    return this.requests.filter((r) => r.path === '/openid/v1/jwks').length;
  }

  jwks(): { keys: unknown[] } {
    return { keys: this.keys.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), use: 'sig', kid: k.kid, alg: k.alg })) };
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      this.requests.push({ path, authorization: req.headers.authorization, at: Date.now() });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (this.down) return send(503, { kind: 'Status', status: 'Failure', message: 'service unavailable', code: 503 });
      if (this.requireBearer && req.headers.authorization !== `Bearer ${this.requireBearer}`) {
        return send(401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      }
      if (path === '/.well-known/openid-configuration') {
        return send(200, {
          issuer: this.url,
          jwks_uri: this.jwksUri ?? `${this.url}/openid/v1/jwks`,
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: [this.alg],
        });
      }
      if (path === '/openid/v1/jwks' && this.dripMs !== undefined) return this.drip(res, JSON.stringify(this.jwks()), this.dripMs);
      if (path === '/openid/v1/jwks') return send(200, this.jwks());
      send(404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    });
    this.server.listen(0, '127.0.0.1');
    await new Promise((r) => this.server.once('listening', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private drip(res: ServerResponse, body: string, everyMs: number): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    let i = 0;
    const t = setInterval(() => {
      if (i >= body.length) {
        clearInterval(t);
        return void res.end();
      }
      res.write(body[i++]!);
    }, everyMs);
    res.on('close', () => clearInterval(t));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** The claims of a projected service-account token. */
  claims(o: ProjectedTokenOptions = {}): JWTPayload {
    const ns = o.namespace ?? 'team-a';
    const sa = o.serviceAccount ?? 'builder';
    const iat = o.iat ?? Math.floor(Date.now() / 1000);
    const pod = o.pod === undefined ? `app-${randomUUID().slice(0, 5)}` : o.pod;
    const k8s: Record<string, unknown> = { namespace: ns, serviceaccount: { name: sa, uid: randomUUID() } };
    if (pod !== false) {
      k8s.pod = { name: pod, uid: randomUUID() };
      k8s.node = { name: 'node-1', uid: randomUUID() };
    }
    const claims: Record<string, unknown> = {
      aud: o.audiences ?? ['tollgate-registry'],
      exp: iat + (o.ttl ?? 3600),
      iat,
      iss: this.url,
      jti: randomUUID(),
      'kubernetes.io': k8s,
      nbf: iat,
      sub: `system:serviceaccount:${ns}:${sa}`,
    };
    for (const [k, v] of Object.entries(o.claims ?? {})) {
      if (v === undefined) delete claims[k];
      else claims[k] = v;
    }
    return claims as JWTPayload;
  }

  /** A signed projected service-account token. */
  async mint(o: ProjectedTokenOptions = {}): Promise<string> {
    const key = o.key ?? this.key;
    return new SignJWT(this.claims(o)).setProtectedHeader({ alg: key.alg, kid: key.kid, ...o.header }).sign(key.privateKey);
  }
}

/**
 * Signs any header and payload by hand (jose refuses to sign some of the hostile shapes tests need:
 * unknown `crit`, HS256 keyed with a public key's PEM, `alg: none`).
 */
export function signRaw(header: Record<string, unknown>, payload: unknown, key: SigningKey | { hmac: string | Buffer } | 'none'): string {
  const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  if (key === 'none') return `${input}.`;
  if ('hmac' in key) return `${input}.${createHmac('sha256', key.hmac).update(input).digest('base64url')}`;
  const sig = cryptoSign('sha256', Buffer.from(input), key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}
