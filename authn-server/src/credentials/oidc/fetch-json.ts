/**
 * GET a small JSON document for key discovery: node's own http(s) client because issuers in a cluster
 * need a private CA (`caFile`) and a bearer token that rotates (`bearerTokenFile`, re-read on every fetch),
 * which a fixed `fetch` setup cannot do. Bounded in time and size; any failure rejects.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';

export interface FetchOptions {
  caFile?: string | undefined;
  bearerTokenFile?: string | undefined;
  timeoutMs?: number;
}

export const MAX_DOCUMENT_BYTES = 1024 * 1024;

export async function fetchJson(url: string, opts: FetchOptions = {}): Promise<unknown> {
  const ca = opts.caFile ? await readFile(opts.caFile, 'utf8') : undefined;
  const bearer = opts.bearerTokenFile ? (await readFile(opts.bearerTokenFile, 'utf8')).trim() : undefined;
  const u = new URL(url);
  const client = u.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  return new Promise((resolve, reject) => {
    // agent: false — a fresh connection per fetch: key fetches are minutes apart, and a pooled keep-alive socket
    // the issuer has meanwhile closed would fail the fetch (ECONNRESET) and with it a login.
    const req = client.get(u, { headers, ...(ca ? { ca } : {}), timeout: opts.timeoutMs ?? 5000, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`GET ${url} answered ${res.statusCode}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_DOCUMENT_BYTES) req.destroy(new Error(`GET ${url}: body over ${MAX_DOCUMENT_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
        } catch {
          reject(new Error(`GET ${url}: body is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}
