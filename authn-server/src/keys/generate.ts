/** `keys generate` and `keys bundle` as functions (the CLI only parses flags and prints). */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSelfSignedCert } from './cert.js';
import { keyId, type KidFormat } from './kid.js';
import { algFor, readCertChain, toJwks, type PublicKeyEntry, type SigningAlg } from './load.js';

export interface GenerateOptions {
  alg?: SigningAlg;
  days?: number;
  commonName?: string;
  force?: boolean;
}

/** Writes `token.key` (PKCS#8, mode 0600) and a self-signed `token.crt` into `dir`. */
export function generateKeyFiles(dir: string, opts: GenerateOptions = {}): { keyFile: string; certFile: string } {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  if (!opts.force && (existsSync(keyFile) || existsSync(certFile))) throw new Error(`${keyFile} or ${certFile} already exists (use --force to overwrite)`);
  const { privateKey } = opts.alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(certFile, createSelfSignedCert(privateKey, { days: opts.days ?? 3650, ...(opts.commonName ? { commonName: opts.commonName } : {}) }));
  return { keyFile, certFile };
}

/** Leaf certificates of each file (the registry's `rootcertbundle` wants the signing certificates). */
function leaves(files: string[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const f of files) {
    const leaf = readCertChain(f)[0]!;
    algFor(leaf.publicKey, `certificate file ${f}`);
    if (!out.some((c) => c.fingerprint256 === leaf.fingerprint256)) out.push(leaf);
  }
  return out;
}

export function writeBundle(out: string, certFiles: string[]): number {
  const certs = leaves(certFiles);
  writeFileSync(out, certs.map((c) => c.toString().trim()).join('\n') + '\n');
  return certs.length;
}

export async function writeJwks(out: string, certFiles: string[], kidFormat: KidFormat): Promise<number> {
  const published: PublicKeyEntry[] = [];
  for (const c of leaves(certFiles)) {
    published.push({ kid: await keyId(c.publicKey, kidFormat), alg: algFor(c.publicKey, 'certificate'), publicKey: c.publicKey, x5c: [c.raw.toString('base64')] });
  }
  writeFileSync(out, JSON.stringify(toJwks({ published }), null, 2) + '\n');
  return published.length;
}
