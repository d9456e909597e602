/**
 * `tollgate proxy`'s `/healthz`, `/readyz` and `/metrics` (what the Kubernetes probes and Prometheus read),
 * against the real registry 2.8.2 with token auth and the real authz: readiness as authn decides it (a
 * refused client token is not ready), metrics of proxied requests by action and status, client bytes and
 * upstream latency, the metrics token, and the probe paths never reaching or shadowing the registry API.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useStack } from '../harness/fixture.js';
import { freePort, Proc, ROOT, waitForHttp } from '../harness/procs.js';
import { basic, raw, startTestProxy } from '../harness/proxy.js';
import { ISSUER, SERVICE } from '../harness/stack.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** The value of one series line (`name{labels} value`) in a Prometheus text page; 0 when absent. */
function sample(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('e2e: proxy probes and metrics', function () {
  this.timeout(120000);
  const stack = useStack([]);

  it('/healthz and /readyz answer 200 without credentials, with authn\'s readiness checks (key, authz, our client token)', async () => {
    const p = await startTestProxy(stack(), stack().registry!.url);
    assert.equal((await fetch(`${p.url}/healthz`)).status, 200);
    const r = await fetch(`${p.url}/readyz`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { status: string; checks: Record<string, boolean> };
    assert.equal(body.status, 'ready');
    assert.deepEqual({ keys: body.checks.keys, authz: body.checks.authz, authz_token: body.checks.authz_token }, { keys: true, authz: true, authz_token: true });
  });

  it('/readyz is 503 while authz refuses the proxy\'s client token, and the proxy answers no registry request with it', async () => {
    const s = stack();
    const bad = join(s.dir, 'wrong-client.token');
    writeFileSync(bad, randomBytes(24).toString('hex'), { mode: 0o600 });
    const p = await startTestProxy(s, s.registry!.url, { authzTokenFile: bad });
    const r = await fetch(`${p.url}/readyz`);
    assert.equal(r.status, 503);
    const body = (await r.json()) as { checks: Record<string, boolean> };
    assert.equal(body.checks.authz_token, false);
    const pull = await fetch(`${p.url}/v2/team-a/app/tags/list`, { headers: { authorization: basic(stack.creds('alice')) } });
    assert.equal(pull.status, 503);
  });

  it('/metrics counts proxied requests by action and status, client bytes both ways and upstream latency', async () => {
    const s = stack();
    const p = await startTestProxy(s, s.registry!.url);
    const auth = { authorization: basic(stack.creds('alice')) };
    const blob = randomBytes(256 * 1024);
    const start = await fetch(`${p.url}/v2/team-a/metrics/blobs/uploads/`, { method: 'POST', headers: auth });
    assert.equal(start.status, 202);
    const put = await fetch(new URL(`${start.headers.get('location')}${start.headers.get('location')?.includes('?') ? '&' : '?'}digest=${sha(blob)}`, p.url), { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: blob });
    assert.equal(put.status, 201);
    const get = await fetch(`${p.url}/v2/team-a/metrics/blobs/${sha(blob)}`, { headers: auth });
    assert.equal(Buffer.from(await get.arrayBuffer()).length, blob.length);
    assert.equal((await fetch(`${p.url}/v2/team-b/app/tags/list`, { headers: auth })).status, 403);
    assert.equal((await fetch(`${p.url}/v2/nope%2Fx/tags/list`, { headers: auth })).status, 404);
    const page = await (await fetch(`${p.url}/metrics`)).text();
    assert.equal(sample(page, 'tollgate_proxy_requests_total{action="push",status="202"}'), 1);
    assert.equal(sample(page, 'tollgate_proxy_requests_total{action="push",status="201"}'), 1);
    assert.equal(sample(page, 'tollgate_proxy_requests_total{action="pull",status="200"}'), 1);
    assert.equal(sample(page, 'tollgate_proxy_requests_total{action="pull",status="403"}'), 1);
    assert.equal(sample(page, 'tollgate_proxy_requests_total{action="none",status="404"}'), 1);
    assert.ok(sample(page, 'tollgate_proxy_client_bytes_total{direction="up"}') >= blob.length, 'upload bytes counted');
    assert.ok(sample(page, 'tollgate_proxy_client_bytes_total{direction="down"}') >= blob.length, 'download bytes counted');
    assert.equal(sample(page, 'tollgate_proxy_upstream_duration_seconds_count{outcome="2xx"}'), 3);
    assert.match(page, /^tollgate_proxy_process_resident_memory_bytes /m);
    assert.match(page, /^tollgate_authn_cache_lookups_total\{cache="decision"/m, 'authn core series beside the proxy\'s');
  });

  it('with a metrics token, /metrics needs it (compared as at authn); probes stay open', async () => {
    const s = stack();
    const token = randomBytes(24).toString('hex');
    const file = join(s.dir, 'proxy-metrics.token');
    writeFileSync(file, token, { mode: 0o600 });
    const p = await startTestProxy(s, s.registry!.url, { metricsTokenFile: file });
    assert.equal((await fetch(`${p.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${p.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${p.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await fetch(`${p.url}/readyz`)).status, 200);
  });

  it('`tollgate proxy` as a process (the command k8s and compose run): /readyz 200, /metrics behind --metrics-token-file, /v2/ challenges', async () => {
    const s = stack();
    const [port, token] = [await freePort(), randomBytes(24).toString('hex')];
    const file = join(s.dir, 'proxy-cli-metrics.token');
    writeFileSync(file, token, { mode: 0o600 });
    const proc = new Proc({
      name: 'proxy-cli', cmd: process.execPath, logFile: join(s.dir, 'proxy-cli.log'), dropEnv: /^TOLLGATE_/,
      args: ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'proxy', '--listen', `127.0.0.1:${port}`, '--upstream', s.registry!.url, '--authz-url', s.authzUrl,
        '--authz-token-file', join(s.dir, 'client.token'), '--issuer', ISSUER, '--service', SERVICE, '--key', s.key.key, '--cert', s.key.cert, '--users', join(s.dir, 'users.yml'), '--metrics-token-file', file, '--log-level', 'warn'],
    });
    s.defer(() => proc.stop());
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/readyz`, [200], proc);
    assert.equal((await fetch(`${url}/v2/`)).status, 401);
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    const page = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    assert.equal(sample(page, 'tollgate_proxy_requests_total{action="base",status="401"}'), 1);
  });

  it('only the exact probe paths are served: near misses get the registry\'s 404/405, and nothing under /v2/ is shadowed', async () => {
    const s = stack();
    const p = await startTestProxy(s, s.registry!.url);
    for (const target of ['/readyz/', '/readyz/../v2/', '/v2/readyz', '/%72eadyz', '/READYZ', '/.well-known/jwks.json', '//metrics']) {
      const r = await raw(p.host, 'GET', target);
      assert.equal(r.status, 404, target);
      assert.match(r.body, /"errors"/, target);
    }
    assert.equal((await raw(p.host, 'POST', '/readyz')).status, 404);
    // The registry's namespace is untouched: /v2/ still authenticates.
    assert.equal((await raw(p.host, 'GET', '/v2/')).status, 401);
    assert.equal((await raw(p.host, 'GET', '/readyz?verbose=1')).status, 200);
  });
});
