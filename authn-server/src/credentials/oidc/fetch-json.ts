/**
 * GET a small JSON document for key discovery: node's own http(s) client because issuers in a cluster
 * need a private CA (`caFile`) and a bearer token that rotates (`bearerTokenFile`, re-read on every fetch),
 * which a fixed `fetch` setup cannot do. Bounded in size and in *total* time (`timeoutMs` from the request
 * to the last byte: an endpoint dripping a byte every few seconds cannot hold a fetch longer); any failure
 * rejects. Redirects are not followed, so the bearer token goes to the URL given and nowhere else.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';

export interface FetchOptions {
  caFile?: string | undefined;
  bearerTokenFile?: string | undefined;
  timeoutMs?: number;
}

const MAX_DOCUMENT_BYTES = 1024 * 1024;

export async function fetchJson(url: string, opts: FetchOptions = {}): Promise<unknown> {
  const ca = opts.caFile ? await readFile(opts.caFile, 'utf8') : undefined;
  const bearer = opts.bearerTokenFile ? (await readFile(opts.bearerTokenFile, 'utf8')).trim() : undefined;
  const u = new URL(url);
  const client = u.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise<unknown>((done, fail) => {
    let deadline: NodeJS.Timeout | undefined;
    const resolve = (v: unknown) => {
      clearTimeout(deadline);
      done(v);
    };
    const reject = (e: Error) => {
      clearTimeout(deadline);
      fail(e);
    };
    // agent: false — a fresh connection per fetch: key fetches are minutes apart, and a pooled keep-alive socket
    // the issuer has meanwhile closed would fail the fetch (ECONNRESET) and with it a login.
    const req = client.get(u, { headers, ...(ca ? { ca } : {}), timeout: timeoutMs, agent: false }, (res) => {
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
    deadline = setTimeout(() => req.destroy(new Error(`GET ${url}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}
