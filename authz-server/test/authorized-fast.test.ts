/**
 * The express-free POST /authorized (routes/authorized-fast.ts) keeps the route's contract: every
 * case is sent to the fast path (`h.app`) and to the express route (`h.app.express`) and must get the
 * same status, error code and field; requests the fast path does not handle reach express untouched.
 */
import assert from 'node:assert/strict';
import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { createMetrics } from '../src/metrics/index.js';
import { withFastAuthorized } from '../src/routes/authorized-fast.js';
import { ADMIN, admin, bind, client, CLIENT, ENGINES, harness, req, role, type Harness } from './helpers.js';

type Send = (t: request.Test) => request.Test;
const json = (text: string): Send => (t) => t.set(client).set('Content-Type', 'application/json').send(text);

const CASES: Array<[string, Send, number, string?, string?]> = [
  ['no Authorization header → 401', (t) => t.send(req({})), 401, 'unauthorized'],
  ['a wrong token → 401', (t) => t.set('Authorization', 'Bearer nope').send(req({})), 401, 'unauthorized'],
  ['the client token, granted → 200', (t) => t.set(client).send(req({})), 200],
  ['the admin token, partly granted → 403 with the subset', (t) => t.set(admin).send(req({ Actions: ['pull', 'delete'] })), 403],
  ['broken JSON → 400 invalid_json', json('{"Account":'), 400, 'invalid_json', 'body'],
  ['a JSON string, not an object → 400 invalid_json', json('"alice"'), 400, 'invalid_json', 'body'],
  ['an empty body → 400 naming the first missing field', json(''), 400, 'invalid_request', 'Account'],
  ['an unknown field → 400 naming it', (t) => t.set(client).send({ ...req({}), Scope: 'x' }), 400, 'invalid_request', 'Scope'],
  ['a wrong type → 400 naming the field', (t) => t.set(client).send({ ...req({}), Actions: 'pull' }), 400, 'invalid_request', 'Actions'],
  ['no Content-Type: still read as JSON', (t) => t.set(client).set('Content-Type', '').send(Buffer.from(JSON.stringify(req({})))), 200],
  ['Content-Type text/plain: still read as JSON', (t) => t.set(client).set('Content-Type', 'text/plain').send(JSON.stringify(req({}))), 200],
  ['a body over 64 KiB → 413', (t) => t.set(client).send({ ...req({}), Name: 'x'.repeat(70 * 1024) }), 413, 'body_too_large', 'body'],
  ['a gzip body (handed to express) → decided', (t) => t.set(client).set('Content-Encoding', 'gzip').set('Content-Type', 'application/octet-stream').send(gzipSync(JSON.stringify(req({})))), 200],
];

for (const engine of ENGINES) describe(`POST /authorized without express: same contract as the express route (${engine})`, () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(engine);
    await role(h.store, 'dev', { name: 'team-a/*', actions: ['pull', 'push'] });
    await bind(h.store, 'alice', 'dev');
  });
  afterEach(() => h.close());

  for (const [title, send, status, code, field] of CASES) {
    it(title, async () => {
      for (const [via, app] of [['fast path', h.app], ['express route', h.app.express]] as const) {
        const res = await send(request(app).post('/authorized'));
        assert.equal(res.status, status, `${via}: ${res.status} ${res.text}`);
        assert.match(res.headers['content-type'] ?? '', /^application\/json; charset=utf-8$/, via);
        if (code) assert.equal(res.body.error.code, code, via);
        if (field) assert.equal(res.body.error.field, field, via);
        if (status === 401) assert.match(res.headers['www-authenticate'] ?? '', /^Bearer realm="tollgate-authz"/, via);
        if (status === 200) assert.deepEqual(res.body, { allowed: true, actions: ['pull'] }, via);
        if (status === 403) assert.deepEqual(res.body, { allowed: false, actions: ['pull'] }, via);
      }
    });
  }

  it('a chunked body that grows past 64 KiB → 413, and the server keeps answering', async () => {
    const server = http.createServer(h.app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      const status = await new Promise<number>((resolve, reject) => {
        const r = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/authorized', headers: { Authorization: `Bearer ${CLIENT}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        r.on('error', reject);
        r.write(`{"Account":"alice","Name":"${'x'.repeat(40 * 1024)}`);
        r.end(`${'x'.repeat(40 * 1024)}"}`);
      });
      assert.equal(status, 413);
      assert.equal((await request(server).post('/authorized').set(client).send(req({}))).status, 200);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('counts decisions and request durations under the same labels as the express route', async () => {
    await request(h.app).post('/authorized').set(client).send(req({}));
    await request(h.app).post('/authorized').set(client).send(req({ Name: 'team-b/x' }));
    await request(h.app).post('/authorized').send(req({}));
    await request(h.app.express).post('/authorized').set(client).send(req({}));
    const text = (await request(h.app).get('/metrics').set(admin).expect(200)).text;
    assert.match(text, /tollgate_authz_decisions_total\{result="allowed"\} 2\n/);
    assert.match(text, /tollgate_authz_decisions_total\{result="denied"\} 1\n/);
    assert.match(text, /tollgate_authz_http_request_duration_seconds_count\{method="POST",route="\/authorized",status="200"\} 2\n/);
    assert.match(text, /tollgate_authz_http_request_duration_seconds_count\{method="POST",route="\/authorized",status="401"\} 1\n/);
  });

  it('answers exact POST /authorized itself and hands everything else to express untouched', async () => {
    const handedOver: string[] = [];
    const fallback: RequestListener = (r, res) => {
      handedOver.push(`${r.method} ${r.url} ${r.headers['content-encoding'] ?? ''}${r.headers['content-type'] ?? ''}`.trim());
      res.writeHead(299).end();
    };
    const deps = { store: h.store, robots: h.store.engine.robots, clock: () => new Date(), metrics: createMetrics(undefined, false), tokens: { admin: ADMIN, client: CLIENT } };
    const app = withFastAuthorized({ ...deps, logger: createLogger({ name: 't', level: 'silent' }) }, fallback);
    assert.equal((await request(app).post('/authorized').set(client).send(req({}))).status, 200);
    assert.equal((await request(app).post('/authorized?x=1').set(client).set('Content-Type', 'application/json; charset=UTF-8').send(req({}))).status, 200);
    for (const t of [
      request(app).get('/authorized'),
      request(app).post('/authorized/').set(client).send(req({})),
      request(app).post('/explain').set(admin).send(req({})),
      request(app).post('/authorized').set(client).set('Content-Encoding', 'gzip').send(gzipSync('{}')),
      request(app).post('/authorized').set(client).set('Content-Type', 'application/json; charset=utf-16le').send('{}'),
    ]) assert.equal((await t).status, 299);
    assert.deepEqual(handedOver, ['GET /authorized', 'POST /authorized/ application/json', 'POST /explain application/json', 'POST /authorized gzip', 'POST /authorized application/json; charset=utf-16le']);
    // With debug logging on, pino-http (in express) logs every request: the fast path steps aside.
    const debug = withFastAuthorized({ ...deps, logger: createLogger({ name: 't', level: 'debug', destination: { write: () => true } }) }, fallback);
    assert.equal((await request(debug).post('/authorized').set(client).send(req({}))).status, 299);
  });
});
