/**
 * The Kubernetes API calls the controller makes, and no others: GET (and list/watch, through authn's
 * watch reader), POST, PUT with the resourceVersion read, PATCH as `application/merge-patch+json`, and
 * DELETE. Every call is bounded in time; the bearer token is re-read per call because projected
 * service-account tokens rotate. A transport failure throws `ApiError`; any HTTP status is a result.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { ApiError, watchLines, type ApiConnection, type WatchStream } from '../../../authn-server/src/credentials/k8s-secrets/api-client.js';

export { ApiError, type ApiConnection };

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export interface ApiReply {
  status: number;
  json: unknown;
}

const MAX_BODY = 64 * 1024 * 1024;

export class KubeClient {
  constructor(
    readonly conn: ApiConnection,
    private readonly timeoutMs = 15_000,
  ) {}

  private headers(body: string | undefined, contentType: string): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'tollgate-controller' };
    if (body !== undefined) {
      h['Content-Type'] = contentType;
      h['Content-Length'] = String(Buffer.byteLength(body));
    }
    if (this.conn.tokenFile) {
      let token: string;
      try {
        token = readFileSync(this.conn.tokenFile, 'utf8').trim();
      } catch (e) {
        throw new ApiError(`cannot read the API token from ${this.conn.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (token) h.Authorization = `Bearer ${token}`;
    }
    return h;
  }

  request(method: Method, path: string, payload?: unknown, contentType = 'application/json'): Promise<ApiReply> {
    const url = new URL(path, this.conn.baseUrl);
    const mod = url.protocol === 'https:' ? https : http;
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const headers = this.headers(body, contentType);
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, ca: this.conn.ca, timeout: this.timeoutMs, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new ApiError(`API response larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', (e) => reject(new ApiError(`API ${method} ${url.pathname} broken: ${e.message}`)));
      });
      req.on('timeout', () => req.destroy(new ApiError(`API ${method} ${url.pathname} timed out after ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(e instanceof ApiError ? e : new ApiError(`API ${method} ${url.pathname} failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      req.end(body);
    });
  }

  get(path: string): Promise<ApiReply> {
    return this.request('GET', path);
  }
  create(path: string, obj: unknown): Promise<ApiReply> {
    return this.request('POST', path, obj);
  }
  /** PUT: `obj.metadata.resourceVersion` must be the one read (a stale one answers 409). */
  replace(path: string, obj: unknown): Promise<ApiReply> {
    return this.request('PUT', path, obj);
  }
  mergePatch(path: string, patch: unknown): Promise<ApiReply> {
    return this.request('PATCH', path, patch, 'application/merge-patch+json');
  }
  remove(path: string): Promise<ApiReply> {
    return this.request('DELETE', path);
  }

  watch(path: string, opts: { signal: AbortSignal; onLine: (line: string) => void }): Promise<WatchStream> {
    return watchLines(this.conn, path, opts);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `: <message>` of a Kubernetes Status body, for error texts. */
export function statusMessage(json: unknown): string {
  return isObj(json) && typeof json.message === 'string' ? `: ${json.message.slice(0, 200)}` : '';
}

/** Paths of the resources the controller touches. */
export const paths = {
  crs: (ns?: string) => `/apis/registry.tollgate.dev/v1alpha1${ns ? `/namespaces/${ns}` : ''}/registrycredentials`,
  cr: (ns: string, name: string) => `/apis/registry.tollgate.dev/v1alpha1/namespaces/${ns}/registrycredentials/${name}`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  serviceAccount: (ns: string, name: string) => `/api/v1/namespaces/${ns}/serviceaccounts/${name}`,
  token: (ns: string, sa: string) => `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
  events: (ns: string) => `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
  leases: (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
  lease: (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
};
