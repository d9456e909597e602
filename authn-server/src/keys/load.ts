/**
 * Loads the signing key and its certificate chain, plus extra (older/newer) certificates that are
 * only published. Rules: EC keys must be P-256 (ES256), RSA keys ≥ 2048 bits (RS256); the first
 * certificate of the chain must hold the signing key's public key; when the chain is sent as `x5c`
 * it must be in date and in order. Errors name the file.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { keyId, type KidFormat } from './kid.js';

export type SigningAlg = 'ES256' | 'RS256';

export interface PublicKeyEntry {
  kid: string;
  alg: SigningAlg;
  publicKey: KeyObject;
  /** base64 DER chain, leaf first (the JWT `x5c` header). */
  x5c: string[];
}

export interface KeySet {
  signing: PublicKeyEntry & { privateKey: KeyObject; includeX5c: boolean };
  /** Every published key (signing first), by kid — used for JWKS and to verify refresh tokens. */
  published: PublicKeyEntry[];
}

export interface KeyFiles {
  keyFile: string;
  certFile?: string | undefined;
  extraCertFiles?: string[];
  kidFormat?: KidFormat;
  x5c?: boolean;
  /** Clock for the certificate date check (tests). */
  now?: () => number;
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/** ES256 for P-256, RS256 for RSA ≥ 2048; anything else is refused with the reason. */
export function algFor(key: KeyObject, where: string): SigningAlg {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    if (d.namedCurve !== 'prime256v1') throw new Error(`${where}: EC key on curve ${d.namedCurve ?? '?'} is not supported (use P-256)`);
    return 'ES256';
  }
  if (key.asymmetricKeyType === 'rsa') {
    if ((d.modulusLength ?? 0) < 2048) throw new Error(`${where}: RSA key of ${d.modulusLength ?? '?'} bits is too short (minimum 2048)`);
    return 'RS256';
  }
  throw new Error(`${where}: ${key.asymmetricKeyType ?? 'unknown'} keys are not supported (use EC P-256 or RSA ≥ 2048; registry 2.8 refuses Ed25519)`);
}

/** Every certificate in a PEM file, in order. */
export function readCertChain(file: string): X509Certificate[] {
  const pems = read(file, 'certificate file').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new Error(`certificate file ${file} holds no PEM certificate`);
  return pems.map((p, i) => {
    try {
      return new X509Certificate(p);
    } catch (e) {
      throw new Error(`certificate file ${file}: certificate #${i + 1} is invalid: ${(e as Error).message}`);
    }
  });
}

const x5cOf = (chain: X509Certificate[]): string[] => chain.map((c) => c.raw.toString('base64'));

/**
 * What a registry checks in `x5c` (a failing x5c does not fall back to kid): every certificate within its
 * dates, each one signed by the next. Caught at start instead of as a 401 on every push and pull.
 */
const NOT_BEFORE_SLACK_MS = 5 * 60_000;

function checkX5cChain(chain: X509Certificate[], file: string, now: number): void {
  chain.forEach((cert, i) => {
    const where = `certificate file ${file}: certificate #${i + 1}`;
    if (Date.parse(cert.validTo) < now) throw new Error(`${where} expired on ${cert.validTo} (registries refuse tokens whose x5c holds it)`);
    // A few minutes of clock difference with the machine that made the certificate are tolerated.
    if (Date.parse(cert.validFrom) > now + NOT_BEFORE_SLACK_MS) throw new Error(`${where} is not valid before ${cert.validFrom}`);
    const next = chain[i + 1];
    if (next && !cert.verify(next.publicKey)) throw new Error(`${where} is not signed by certificate #${i + 2} (put the chain leaf first, each certificate followed by its issuer)`);
  });
}

export async function loadKeys(files: KeyFiles): Promise<KeySet> {
  const kidFormat = files.kidFormat ?? 'libtrust';
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(read(files.keyFile, 'key file'));
  } catch (e) {
    throw new Error((e as Error).message.startsWith('cannot read') ? (e as Error).message : `key file ${files.keyFile} is not a PEM private key: ${(e as Error).message}`);
  }
  const alg = algFor(privateKey, `key file ${files.keyFile}`);
  const publicKey = createPublicKey(privateKey);
  let chain: X509Certificate[] = [];
  if (files.certFile) {
    chain = readCertChain(files.certFile);
    if (!chain[0]!.publicKey.equals(publicKey)) throw new Error(`certificate file ${files.certFile}: the first certificate does not hold the public key of ${files.keyFile}`);
    if (files.x5c !== false) checkX5cChain(chain, files.certFile, (files.now ?? Date.now)());
  } else if (files.x5c !== false) {
    throw new Error('a certificate is needed for the x5c header: pass --cert FILE (or --no-x5c for a JWKS-configured registry 3.x)');
  }
  const signing = { kid: await keyId(publicKey, kidFormat), alg, publicKey, x5c: x5cOf(chain), privateKey, includeX5c: files.x5c !== false };
  const published: PublicKeyEntry[] = [signing];
  for (const f of files.extraCertFiles ?? []) {
    const extra = readCertChain(f);
    const pk = extra[0]!.publicKey;
    const entry = { kid: await keyId(pk, kidFormat), alg: algFor(pk, `certificate file ${f}`), publicKey: pk, x5c: x5cOf(extra) };
    if (!published.some((p) => p.kid === entry.kid)) published.push(entry);
  }
  return { signing, published };
}

/** JWKS document of the published keys (`x5c` included when known). */
export function toJwks(keys: Pick<KeySet, 'published'>): { keys: JWK[] } {
  const out: JWK[] = [];
  for (const k of keys.published) {
    const jwk = k.publicKey.export({ format: 'jwk' }) as JWK;
    out.push({ ...jwk, kid: k.kid, alg: k.alg, use: 'sig', ...(k.x5c.length ? { x5c: k.x5c } : {}) });
  }
  return { keys: out };
}
