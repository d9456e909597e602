/**
 * Test helpers for the token protocol: real keys in temp dirs, a tiny real in-memory Credentials
 * (bcrypt hashes in a Map), a tiny counting throttle, a stand-in `/authorized` server (real HTTP,
 * the documented contract) and an independent node:crypto verifier for issued tokens.
 */
import { createHash, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import express from 'express';
import type { AuthorizedRequest } from '../../common/authorized.js';
import { createLogger } from '../../common/logger.js';
import { createApp, type AppDeps } from '../src/app.js';
import { createAuthzClient, type AuthzClient } from '../src/authz-client/index.js';
import type { Labels, LoginThrottle } from '../src/credentials/backend.js';
import type { Credentials } from '../src/credentials/chain.js';
import { generateKeyFiles } from '../src/keys/generate.js';
import { loadKeys, type KeySet } from '../src/keys/load.js';
import type { KidFormat } from '../src/keys/kid.js';

export const logger = createLogger({ name: 'authn-test', level: 'silent' });

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-authn-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function makeKeys(dir: string, alg: 'ES256' | 'RS256' = 'ES256', opts: { kidFormat?: KidFormat; x5c?: boolean; sub?: string } = {}): Promise<KeySet> {
  const sub = join(dir, opts.sub ?? alg);
  const f = generateKeyFiles(sub, { alg });
  return loadKeys({ keyFile: f.keyFile, certFile: f.certFile, kidFormat: opts.kidFormat ?? 'libtrust', x5c: opts.x5c ?? true });
}

/** In-memory users with real bcrypt hashes (cost 4); credentialId = SHA-256 of the stored hash. */
export class MemCredentials implements Credentials {
  readonly backends = [];
  private readonly users = new Map<string, { hash: string; labels: Labels }>();
  authCalls = 0;
  failWith: Error | undefined;
  set(user: string, password: string, labels: Labels = {}): void {
    this.users.set(user, { hash: bcrypt.hashSync(password, 4), labels });
  }
  remove(user: string): void {
    this.users.delete(user);
  }
  async authenticate(user: string, password: string) {
    this.authCalls++;
    if (this.failWith) throw this.failWith;
    const u = this.users.get(user);
    if (!u) return { kind: 'no-match' as const };
    if (!(await bcrypt.compare(password, u.hash))) return { kind: 'wrong-password' as const };
    return { kind: 'ok' as const, labels: u.labels, credentialId: createHash('sha256').update(u.hash).digest('hex') };
  }
  async lookup(user: string) {
    const u = this.users.get(user);
    return u ? { labels: u.labels, credentialId: createHash('sha256').update(u.hash).digest('hex') } : null;
  }
  close(): void {}
}

/** Refuses a pair after `limit` failures (a success resets it); records every call. */
export class CountingThrottle implements LoginThrottle {
  readonly failures = new Map<string, number>();
  readonly calls: string[] = [];
  constructor(private readonly limit = 3) {}
  check(account: string, ip: string) {
    this.calls.push(`check ${account} ${ip}`);
    return (this.failures.get(`${account}|${ip}`) ?? 0) >= this.limit ? { allowed: false as const, retryAfterSec: 7 } : { allowed: true as const };
  }
  recordFailure(account: string, ip: string): void {
    this.calls.push(`failure ${account} ${ip}`);
    this.failures.set(`${account}|${ip}`, (this.failures.get(`${account}|${ip}`) ?? 0) + 1);
  }
  recordSuccess(account: string, ip: string): void {
    this.calls.push(`success ${account} ${ip}`);
    this.failures.delete(`${account}|${ip}`);
  }
}

export type Rule = (r: AuthorizedRequest) => string[];
export const CLIENT_TOKEN = 'authn-test-client-token-0123456789abcdef';

/**
 * A stand-in authz-server speaking the documented `/authorized` contract (common/authorized.ts):
 * Bearer client token required; 200 when all asked actions are granted, 403 with the granted subset
 * otherwise. `mode` switches on failures: 'error' → 500, 'slow' → never answers in time, 'garbage' → bad body.
 */
export class StandInAuthz {
  requests: AuthorizedRequest[] = [];
  mode: 'ok' | 'error' | 'slow' | 'garbage' = 'ok';
  server!: Server;
  url = '';
  constructor(public rule: Rule) {}
  async start(): Promise<this> {
    const app = express();
    app.use(express.json());
    app.get('/healthz', (_req, res) => {
      res.status(this.mode === 'error' ? 503 : 200).json({ status: 'ok' });
    });
    app.post('/authorized', (req, res) => {
      if (req.headers.authorization !== `Bearer ${CLIENT_TOKEN}`) return void res.status(401).json({ error: 'unauthorized' });
      const body = req.body as AuthorizedRequest;
      this.requests.push(body);
      if (this.mode === 'error') return void res.status(500).json({ error: 'boom' });
      if (this.mode === 'slow') return void setTimeout(() => res.json({ allowed: true, actions: body.Actions }), 5000);
      if (this.mode === 'garbage') return void res.status(200).send('<html>');
      const granted = new Set(this.rule(body));
      const actions = body.Actions.filter((a) => granted.has(a)).sort();
      const allowed = actions.length === body.Actions.length;
      res.status(allowed ? 200 : 403).json({ allowed, actions });
    });
    this.server = app.listen(0, '127.0.0.1');
    await new Promise((r) => this.server.once('listening', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** Grants by a table: account → name prefix → actions. */
export function tableRule(table: Record<string, Record<string, string[]>>): Rule {
  return (r) => {
    const byName = table[r.Account] ?? {};
    for (const [prefix, actions] of Object.entries(byName)) if (r.Name.startsWith(prefix) || prefix === '*') return actions;
    return [];
  };
}

export interface TestApp {
  app: ReturnType<typeof createApp>;
  authzClient: AuthzClient;
}

export function testApp(deps: Partial<AppDeps> & { keys: KeySet; authzUrl: string; credentials: Credentials; throttle?: LoginThrottle; timeoutMs?: number }): TestApp {
  const authzClient = deps.authz ?? createAuthzClient({ url: deps.authzUrl, token: CLIENT_TOKEN, timeoutMs: deps.timeoutMs ?? 1000 });
  const app = createApp({ logger, throttle: deps.throttle ?? new CountingThrottle(), services: ['registry.test'], issuer: 'test-issuer', ...deps, authz: authzClient });
  return { app, authzClient };
}

export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function b64json(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Independent libtrust key id (PROTOCOL.md §5), written here again on purpose. */
export function libtrustKid(pub: KeyObject): string {
  const digest = createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  let bits = '';
  for (const b of digest) bits += b.toString(2).padStart(8, '0');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out.match(/.{4}/g)!.join(':');
}

export interface Decoded {
  header: Record<string, unknown>;
  claims: Record<string, unknown> & { access?: Array<{ type: string; name: string; actions: string[]; class?: string }> };
}

/** Independent RFC 7638 thumbprint: SHA-256 of the required JWK members in lexicographic order. */
export function rfc7638(pub: KeyObject): string {
  const jwk = pub.export({ format: 'jwk' });
  const members = pub.asymmetricKeyType === 'ec' ? { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y } : { e: jwk.e, kty: 'RSA', n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** The x5c chain as a registry checks it: each certificate signed by the next, all valid now, the last one self-signed. */
function checkX5c(x5c: unknown, pub: KeyObject): void {
  assert.ok(Array.isArray(x5c) && x5c.length >= 1, 'x5c header present');
  const chain = (x5c as string[]).map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  assert.ok(chain[0]!.publicKey.equals(pub), 'x5c leaf holds the signing key');
  const now = Date.now();
  chain.forEach((cert, i) => {
    assert.ok(Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo), `x5c[${i}] is within its validity dates`);
    const issuer = chain[i + 1] ?? cert;
    assert.ok(cert.verify(issuer.publicKey), `x5c[${i}] is signed by ${i + 1 < chain.length ? `x5c[${i + 1}]` : 'itself'}`);
  });
}

/** Signature (raw r||s for ES256, PKCS#1 v1.5 for RS256), kid and x5c, with node:crypto only. */
function verifySigned(token: string, pub: KeyObject, typ: string, opts: { x5c?: boolean; kidFormat?: KidFormat }): Decoded {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'three JWT parts');
  const [h, p, s] = parts as [string, string, string];
  const header = b64json(h);
  const claims = b64json(p) as Decoded['claims'];
  const sig = Buffer.from(s, 'base64url');
  const ec = pub.asymmetricKeyType === 'ec';
  assert.equal(header.alg, ec ? 'ES256' : 'RS256');
  assert.equal(header.typ, typ);
  if (ec) assert.equal(sig.length, 64, 'ES256 signature is raw r||s (64 bytes), not DER');
  const ok = cryptoVerify('sha256', Buffer.from(`${h}.${p}`), ec ? { key: pub, dsaEncoding: 'ieee-p1363' } : pub, sig);
  assert.ok(ok, 'signature verifies with the signing public key');
  assert.equal(header.kid, opts.kidFormat === 'thumbprint' ? rfc7638(pub) : libtrustKid(pub));
  if (opts.x5c !== false) checkX5c(header.x5c, pub);
  else assert.equal(header.x5c, undefined);
  for (const c of ['exp', 'nbf', 'iat']) assert.ok(Number.isInteger(claims[c]), `${c} is an integer`);
  assert.ok((claims.exp as number) > (claims.iat as number) && (claims.nbf as number) <= (claims.iat as number), 'exp after iat, nbf not after iat');
  assert.equal(typeof claims.iss, 'string');
  assert.equal(typeof claims.aud, 'string', 'aud is a string');
  assert.equal(typeof claims.sub, 'string');
  assert.ok(typeof claims.jti === 'string' && Buffer.from(claims.jti, 'base64url').length >= 16, 'jti carries >= 128 bits');
  return { header, claims };
}

/**
 * Verifies an access token with node:crypto only: signature with the expected public key, kid (libtrust by
 * default, or RFC 7638), x5c chain, and claim types as registry 2.8 demands. Returns header and claims.
 */
export function verifyIndependently(token: string, pub: KeyObject, opts: { x5c?: boolean; kidFormat?: KidFormat } = {}): Decoded {
  const d = verifySigned(token, pub, 'JWT', opts);
  assert.ok(Array.isArray(d.claims.access));
  for (const a of d.claims.access!) assert.ok(!/[*?]/.test(a.name), 'no name wildcards in access');
  return d;
}

/** Verifies a refresh token the same way, plus what keeps it away from a registry: its own typ and audience, no access. */
export function verifyRefreshIndependently(token: string, pub: KeyObject, issuer: string): Decoded {
  const d = verifySigned(token, pub, 'tollgate-refresh+jwt', {});
  assert.equal(d.claims.aud, `${issuer}/refresh`);
  assert.equal(d.claims.tgt, 'refresh');
  assert.equal(d.claims.access, undefined, 'a refresh token grants nothing at a registry');
  assert.ok(typeof d.claims.sub === 'string' && d.claims.sub !== '', 'bound to an account');
  assert.equal(typeof d.claims.cid, 'string', 'bound to the current credential');
  return d;
}

export function decodeJwt(token: string): Decoded {
  const [h = '', p = ''] = token.split('.');
  return { header: b64json(h), claims: b64json(p) as Decoded['claims'] };
}

/** Polls `cond` every 20 ms until it holds; fails after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
