/** What crosses the proxy (headers.ts, range.ts, errors.ts): client Authorization and forwarding headers never go upstream, the upstream origin never comes back, ranges are checked, errors are the registry's format. */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { clientHeaders, rewriteLink, rewriteLocation, upstreamHeaders } from '../src/headers.js';
import { rangeProblem } from '../src/range.js';
import { bearerChallenge, ProxyError, sendProxyError } from '../src/errors.js';

const up = new URL('http://10.0.0.7:5000');

describe('proxy: headers, ranges and error format', () => {
  it('upstream-bound: client Authorization, Host, X-Forwarded-*, Expect and hop-by-hop headers are dropped; the proxy\'s own Authorization is set', () => {
    const h = upstreamHeaders(
      { host: 'proxy.example', authorization: 'Bearer client', 'x-forwarded-host': 'evil', 'x-forwarded-proto': 'https', forwarded: 'for=1', expect: '100-continue', connection: 'keep-alive, x-secret', 'x-secret': '1', 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream', 'content-range': '0-9', range: 'bytes=0-1', accept: 'application/json' },
      '10.0.0.7:5000',
      'Basic cHJveHk6cw==',
    );
    assert.deepEqual(h, { host: '10.0.0.7:5000', authorization: 'Basic cHJveHk6cw==', 'content-type': 'application/octet-stream', 'content-range': '0-9', range: 'bytes=0-1', accept: 'application/json' });
    assert.equal(upstreamHeaders({ authorization: 'Basic x' }, 'u', undefined).authorization, undefined);
  });

  it('client-bound: Location and Link lose the upstream origin, WWW-Authenticate is dropped, registry headers pass', () => {
    const h = clientHeaders(
      { location: 'http://10.0.0.7:5000/v2/a/blobs/uploads/u?_state=x', link: '<http://10.0.0.7:5000/v2/_catalog?last=a&n=1>; rel="next"', 'www-authenticate': 'Bearer realm="http://internal/auth"', 'docker-content-digest': 'sha256:1', 'docker-upload-uuid': 'u', range: '0-9', 'content-length': '0', connection: 'close' },
      up,
    );
    assert.deepEqual(h, { location: '/v2/a/blobs/uploads/u?_state=x', link: '</v2/_catalog?last=a&n=1>; rel="next"', 'docker-content-digest': 'sha256:1', 'docker-upload-uuid': 'u', range: '0-9', 'content-length': '0' });
    assert.equal(rewriteLocation('/v2/a/blobs/uploads/u', up), '/v2/a/blobs/uploads/u');
    assert.equal(rewriteLocation('https://storage.example/blob?sig=1', up), 'https://storage.example/blob?sig=1');
    assert.equal(rewriteLink('</v2/_catalog?n=1>; rel="next"', up), '</v2/_catalog?n=1>; rel="next"');
  });

  const rangeRows: Array<[string, string, Record<string, string>, number | undefined]> = [
    ['blob', 'GET', { range: 'bytes=0-99' }, undefined],
    ['blob', 'GET', { range: 'bytes=100-' }, undefined],
    ['blob', 'GET', { range: 'bytes=-5' }, undefined],
    ['blob', 'GET', { range: 'bytes=0-1, 5-9' }, undefined],
    ['blob', 'GET', { range: 'bytes=9-1' }, 416],
    ['blob', 'GET', { range: 'bytes=abc' }, 416],
    ['blob', 'GET', { range: 'items=0-1' }, 416],
    ['manifest', 'GET', { range: 'bytes=0-1' }, 416],
    ['upload', 'PATCH', { 'content-range': '0-99' }, undefined],
    ['upload', 'PATCH', { 'content-range': 'bytes 0-99' }, undefined],
    ['upload', 'PATCH', { 'content-range': '99-0' }, 416],
    ['upload', 'PATCH', { 'content-range': 'bytes */100' }, 416],
    ['upload', 'PATCH', { 'content-range': '-1-5' }, 416],
    ['blob', 'GET', { 'content-range': '0-1' }, 416],
  ];
  for (const [kind, method, headers, status] of rangeRows) {
    it(`${method} ${kind} ${JSON.stringify(headers)} → ${status ?? 'accepted'}`, () => {
      const p = rangeProblem(kind as 'blob', method, headers);
      assert.equal(p?.status, status);
      if (p) assert.ok(p.opts.field === 'Range' || p.opts.field === 'Content-Range');
    });
  }

  it('errors: registry JSON, API version header, challenge on 401, Retry-After on 503, never a null detail', () => {
    const written: { status?: number; headers: Record<string, unknown>; body?: string } = { headers: {} };
    const res = {
      headersSent: false,
      set statusCode(v: number) {
        written.status = v;
      },
      setHeader: (k: string, v: unknown) => void (written.headers[k.toLowerCase()] = v),
      writeHead(status: number, flat: string[]) {
        written.status = status;
        for (let i = 0; i < flat.length; i += 2) written.headers[flat[i]!.toLowerCase()] = flat[i + 1];
      },
      end: (b: string) => void (written.body = b),
    } as unknown as ServerResponse;
    sendProxyError(res, new ProxyError(401, 'UNAUTHORIZED', 'authentication required', { challenge: bearerChallenge('https://auth/auth', 'reg', ['repository:a/b:pull']) }));
    assert.equal(written.status, 401);
    assert.equal(written.headers['www-authenticate'], 'Bearer realm="https://auth/auth",service="reg",scope="repository:a/b:pull"');
    assert.equal(written.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.deepEqual(JSON.parse(written.body!), { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: {} }] });
    sendProxyError(res, new ProxyError(503, 'UNAVAILABLE', 'down', { retryAfterSec: 5 }));
    assert.equal(written.headers['retry-after'], '5');
  });
});
