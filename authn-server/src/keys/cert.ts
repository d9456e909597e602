/**
 * Self-signed X.509 v3 certificates built with node:crypto alone (no openssl needed), for
 * `keys generate`. CA:TRUE so Go's verifier accepts the certificate as its own root in a
 * registry `rootcertbundle`; no extended key usage, which Go treats as "any".
 */
import { createPublicKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { bitString, bool, explicit, nullValue, octetString, oid, seq, set, time, unsignedInt, utf8String } from './der.js';

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const RSA_SHA256 = '1.2.840.113549.1.1.11';

function name(cn: string): Buffer {
  return seq(set(seq(oid('2.5.4.3'), utf8String(cn))));
}

function extensions(): Buffer {
  const basicConstraints = seq(oid('2.5.29.19'), bool(true), octetString(seq(bool(true))));
  // digitalSignature (bit 0) + keyCertSign (bit 5): 0b10000100, 2 unused bits.
  const keyUsage = seq(oid('2.5.29.15'), bool(true), octetString(bitString(Buffer.from([0x84]), 2)));
  return explicit(3, seq(basicConstraints, keyUsage));
}

export interface CertOptions {
  commonName?: string;
  days?: number;
  now?: Date;
}

/** Returns the PEM certificate for `privateKey` (EC P-256 or RSA), signed by itself. */
export function createSelfSignedCert(privateKey: KeyObject, opts: CertOptions = {}): string {
  const isEc = privateKey.asymmetricKeyType === 'ec';
  const algId = isEc ? seq(oid(ECDSA_SHA256)) : seq(oid(RSA_SHA256), nullValue());
  const now = opts.now ?? new Date();
  // Back-date a little so a slightly slow registry clock does not reject a fresh certificate.
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + (opts.days ?? 3650) * 86400_000);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f || 0x01;
  const subject = name(opts.commonName ?? 'tollgate token signer');
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const tbs = seq(explicit(0, unsignedInt(Buffer.from([2]))), unsignedInt(serial), algId, subject, seq(time(notBefore), time(notAfter)), subject, spki, extensions());
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, algId, bitString(signature));
  return new X509Certificate(der).toString();
}
