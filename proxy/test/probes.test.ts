/**
 * Which requests leave the registry handler for the probe routes (proxy/src/probes.ts), and which action a
 * request is counted under in `tollgate_proxy_requests_total` (proxy/src/metrics.ts).
 */
import assert from 'node:assert/strict';
import { actionOf } from '../src/metrics.js';
import { isProbe } from '../src/probes.js';
import { mapRequest, type Route } from '../src/route.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('proxy: probe paths', () => {
  for (const [method, url] of [['GET', '/healthz'], ['GET', '/readyz'], ['HEAD', '/readyz'], ['GET', '/metrics'], ['GET', '/readyz?verbose=1']] as const) {
    it(`${method} ${url} is a probe`, () => assert.equal(isProbe(method, url), true));
  }
  for (const [method, url] of [
    ['POST', '/readyz'],
    ['DELETE', '/metrics'],
    ['GET', '/readyz/'],
    ['GET', '/v2/readyz'],
    ['GET', '/%72eadyz'],
    ['GET', '/READYZ'],
    ['GET', '//metrics'],
    ['GET', '/readyz/../v2/'],
    ['GET', '/.well-known/jwks.json'],
    ['GET', '/v2/'],
    ['GET', '/v2/healthz/manifests/v1'],
  ] as const) {
    it(`${method} ${url} stays with the registry handler`, () => assert.equal(isProbe(method, url), false));
  }
});

describe('proxy: metrics action of a request', () => {
  const rows: Array<[string, string, string]> = [
    ['GET', '/v2/', 'base'],
    ['GET', '/v2/_catalog', 'catalog'],
    ['GET', '/v2/team-a/app/manifests/v1', 'pull'],
    ['HEAD', `/v2/team-a/app/blobs/${D}`, 'pull'],
    ['GET', '/v2/team-a/app/tags/list', 'pull'],
    ['POST', '/v2/team-a/app/blobs/uploads/', 'push'],
    ['PATCH', '/v2/team-a/app/blobs/uploads/u-1', 'push'],
    ['PUT', '/v2/team-a/app/manifests/v1', 'push'],
    ['DELETE', '/v2/team-a/app/blobs/uploads/u-1', 'push'],
    ['DELETE', `/v2/team-a/app/manifests/${D}`, 'delete'],
    ['POST', `/v2/team-a/app/blobs/uploads/?mount=${D}&from=team-b/lib`, 'push'],
  ];
  for (const [method, target, action] of rows) {
    it(`${method} ${target} → ${action}`, () => {
      const r = mapRequest(method, target);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(actionOf(r as Route), action);
    });
  }
});
