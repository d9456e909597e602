/**
 * A recording pass-through in front of authn: the registry's realm points here, every token request
 * is forwarded untouched, and what the client sent (method, grant type, scopes — never secrets) is
 * kept so a test can say "containerd used the POST password grant and never fell back to GET".
 */
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';

export interface TokenRequest {
  method: string;
  /** `password`, `refresh_token`, or undefined for GET. */
  grantType: string | undefined;
  clientId: string | undefined;
  account: string | undefined;
  offlineToken: boolean;
  /** Every scope value, split on spaces. */
  scopes: string[];
  /** How the scope was sent: one field per scope ("repeated") or one space-joined field. */
  scopeStyle: 'none' | 'single' | 'repeated' | 'space-joined';
  basicAuth: boolean;
  /** sha256 (hex, first 16) of the refresh_token sent with a POST refresh grant — enough to tell tokens apart, never the token. */
  refreshTokenHash: string | undefined;
  status: number;
  /** The `access` claim of the token authn returned, as `type:name:actions` strings (sorted actions). */
  granted: string[];
}

/** A short fingerprint of a secret, to compare two of them without keeping either. */
export const tokenHash = (secret: string): string => createHash('sha256').update(secret).digest('hex').slice(0, 16);

function grantedOf(body: string): string[] {
  try {
    const reply = JSON.parse(body) as { token?: string; access_token?: string };
    const jwt = reply.access_token ?? reply.token ?? '';
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { access?: Array<{ type: string; name: string; actions: string[] }> };
    return (claims.access ?? []).map((a) => `${a.type}:${a.name}:${[...a.actions].sort().join(',')}`);
  } catch {
    return [];
  }
}

export class TokenSpy {
  readonly requests: TokenRequest[] = [];
  private server: Server | undefined;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const url = new URL(req.url ?? '/', 'http://spy');
        const params = req.method === 'POST' ? new URLSearchParams(body.toString()) : url.searchParams;
        const scopeValues = params.getAll('scope');
        const entry: TokenRequest = {
          method: req.method ?? '',
          grantType: req.method === 'POST' ? (params.get('grant_type') ?? undefined) : undefined,
          clientId: params.get('client_id') ?? undefined,
          account: params.get('account') ?? params.get('username') ?? undefined,
          offlineToken: params.get('offline_token') === 'true' || params.get('access_type') === 'offline',
          scopes: scopeValues.flatMap((s) => s.split(' ').filter(Boolean)),
          scopeStyle: scopeValues.length === 0 ? 'none' : scopeValues.length > 1 ? 'repeated' : scopeValues[0]?.includes(' ') ? 'space-joined' : 'single',
          basicAuth: /^basic /i.test(req.headers.authorization ?? ''),
          refreshTokenHash: params.get('refresh_token') ? tokenHash(params.get('refresh_token') ?? '') : undefined,
          status: 0,
          granted: [],
        };
        this.requests.push(entry);
        const target = new URL(this.target);
        const up = request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
          (upRes) => {
            entry.status = upRes.statusCode ?? 0;
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            const body: Buffer[] = [];
            upRes.on('data', (c: Buffer) => body.push(c));
            upRes.on('end', () => {
              if (entry.status === 200) entry.granted = grantedOf(Buffer.concat(body).toString());
            });
            upRes.pipe(res);
          },
        );
        up.on('error', (e) => {
          entry.status = 502;
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `token spy: authn unreachable: ${e.message}` }));
        });
        up.end(body);
      });
    });
    await new Promise<void>((ok) => this.server?.listen(0, '127.0.0.1', ok));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
  }

  /** Requests recorded after `mark` (use `mark = spy.requests.length` before an action). */
  since(mark: number): TokenRequest[] {
    return this.requests.slice(mark);
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((ok) => s.close(() => ok()));
  }
}
