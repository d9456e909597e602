/** Key ids: libtrust's (what registry 2.8 matches in `kid`) and the RFC 7638 thumbprint (registry 3.x). */
import { createHash, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK } from 'jose';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32, 12 groups of 4 joined by `:`. */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const b32 = base32(createHash('sha256').update(der).digest().subarray(0, 30));
  return b32.match(/.{4}/g)!.join(':');
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url). */
export async function jwkThumbprint(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(publicKey), 'sha256');
}

export type KidFormat = 'libtrust' | 'thumbprint';

export async function keyId(publicKey: KeyObject, format: KidFormat): Promise<string> {
  return format === 'libtrust' ? libtrustKeyId(publicKey) : jwkThumbprint(publicKey);
}
