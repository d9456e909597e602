/**
 * The few Kubernetes API calls the Secret backend makes, over node's http/https: a bounded GET (list,
 * get) and a streaming GET (watch) split into JSON lines. The bearer token is re-read from its file on
 * every request because projected service-account tokens rotate; the CA is read once.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface ApiConnection {
  /** Base URL, e.g. https://10.0.0.1:443 (no trailing path). */
  baseUrl: URL;
  tokenFile?: string | undefined;
  /** PEM CA bundle for https. */
  ca?: Buffer | undefined;
}

export const IN_CLUSTER = {
  tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
  caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
} as const;

/** Most bytes one list page or GET body may have; one watch line may have. */
export const MAX_BODY = 64 * 1024 * 1024;
export const MAX_LINE = 4 * 1024 * 1024;

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

function headers(conn: ApiConnection): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'tollgate-authn' };
  if (conn.tokenFile) {
    let token: string;
    try {
      token = readFileSync(conn.tokenFile, 'utf8').trim();
    } catch (e) {
      throw new ApiError(`cannot read the API token from ${conn.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (token) h.Authorization = `Bearer ${token}`;
  }
  return h;
}

function open(conn: ApiConnection, path: string, signal: AbortSignal): Promise<http.IncomingMessage> {
  const url = new URL(path, conn.baseUrl);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { headers: headers(conn), ca: conn.ca, signal, agent: false }, resolve);
    req.on('error', (e) => reject(signal.aborted ? new ApiError(`${String(signal.reason ?? 'aborted')}`) : new ApiError(`API request failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
  });
}

/** Reads a body up to MAX_BODY bytes. */
function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.destroy();
        reject(new ApiError(`API response larger than ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (e) => reject(new ApiError(`API response broken: ${e.message}`)));
    res.on('aborted', () => reject(new ApiError('API response aborted')));
  });
}

/** GET with a total time bound; resolves `{status, json}` (json undefined when the body is not JSON). */
export async function getJson(conn: ApiConnection, path: string, timeoutMs: number): Promise<{ status: number; json: unknown }> {
  const signal = AbortSignal.timeout(timeoutMs);
  const res = await open(conn, path, signal).catch((e: unknown) => {
    throw signal.aborted ? new ApiError(`API request timed out after ${timeoutMs} ms`) : e;
  });
  const text = await readBody(res).catch((e: unknown) => {
    throw signal.aborted ? new ApiError(`API request timed out after ${timeoutMs} ms`) : e;
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode ?? 0, json };
}

export interface WatchStream {
  status: number;
  /** Body of a non-200 answer (JSON or undefined). */
  json?: unknown;
  /** Resolves when the stream ends (cleanly or not); rejects when it breaks. */
  done: Promise<void>;
}

/**
 * Opens a watch and calls `onLine` for every complete line. Every time bound comes from the caller's
 * `signal` (the informer aborts a watch that outlives the `timeoutSeconds` it asked for): a byte-idle timer
 * cannot tell a quiet cluster from a proxy that holds the stream open, the watch's own deadline can.
 */
export async function watchLines(conn: ApiConnection, path: string, opts: { signal: AbortSignal; onLine: (line: string) => void }): Promise<WatchStream> {
  const res = await open(conn, path, opts.signal);
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    const text = await readBody(res).catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status, json, done: Promise.resolve() };
  }
  const done = new Promise<void>((resolve, reject) => {
    let buf = '';
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', stop);
      if (err) reject(err);
      else resolve();
    };
    const stop = () => {
      res.destroy();
      finish(new ApiError(String(opts.signal.reason ?? 'aborted')));
    };
    if (opts.signal.aborted) return stop();
    opts.signal.addEventListener('abort', stop, { once: true });
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) opts.onLine(line);
      }
      if (buf.length > MAX_LINE) res.destroy(new ApiError(`API watch line longer than ${MAX_LINE} bytes`));
    });
    res.on('end', () => {
      const rest = buf.trim();
      if (rest) opts.onLine(rest);
      finish();
    });
    res.on('error', (e) => finish(e instanceof ApiError ? e : new ApiError(`API watch broken: ${e.message}`)));
    res.on('aborted', () => finish(new ApiError('API watch connection dropped')));
    res.on('close', () => {
      if (!res.complete) finish(new ApiError('API watch connection dropped'));
    });
  });
  return { status, done };
}
