/**
 * `tollgate proxy` facing bad input and a misbehaving upstream. The real registry cannot be made to
 * answer garbage or hang, so those upstreams are SIMULATED (a raw TCP server in the test); everything
 * else (authn core, authz, decisions) is real. Every answer is the registry's error format, bounded in
 * time, and the proxy keeps serving afterwards.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { useStack } from '../harness/fixture.js';
import { basic, raw, startTestProxy } from '../harness/proxy.js';
import { freePort } from '../harness/procs.js';

function tcpServer(onSocket: (s: Socket) => void): Promise<{ server: Server; url: string; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, sockets })));
}

describe('e2e: proxy, bad input and upstream faults', function () {
  this.timeout(120000);
  const stack = useStack([]);
  const servers: Array<{ server: Server; sockets: Set<Socket> }> = [];
  after(() => {
    for (const s of servers) {
      for (const c of s.sockets) c.destroy();
      s.server.close();
    }
  });
  const errorCode = async (r: Response): Promise<string | undefined> => ((await r.json()) as { errors: Array<{ code: string }> }).errors[0]?.code;

  it('SIMULATED upstream answering garbage → 502 BAD_GATEWAY in the registry format', async () => {
    const s = stack();
    const garbage = await tcpServer((sock) => sock.once('data', () => sock.end('HELLO THIS IS NOT HTTP\r\n\r\n')));
    servers.push(garbage);
    const p = await startTestProxy(s, garbage.url);
    const r = await fetch(`${p.url}/v2/team-a/app/tags/list`, { headers: { authorization: basic(stack.creds('alice')) } });
    assert.equal(r.status, 502);
    assert.equal(await errorCode(r), 'BAD_GATEWAY');
  });

  it('SIMULATED silent upstream → 503 UNAVAILABLE after --upstream-timeout (1 s), not a hang', async () => {
    const s = stack();
    const silent = await tcpServer(() => undefined);
    servers.push(silent);
    const p = await startTestProxy(s, silent.url, { upstreamTimeout: '1s' });
    const t0 = Date.now();
    const r = await fetch(`${p.url}/v2/team-a/app/tags/list`, { headers: { authorization: basic(stack.creds('alice')) } });
    assert.equal(r.status, 503);
    assert.equal(await errorCode(r), 'UNAVAILABLE');
    assert.ok(r.headers.get('retry-after'));
    assert.ok(Date.now() - t0 < 10000);
  });

  it('SIMULATED upstream dying mid-blob → the client sees a cut transfer, never a short blob that looks whole', async () => {
    const s = stack();
    const dying = await tcpServer((sock) =>
      sock.once('data', () => {
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: application/octet-stream\r\n\r\n');
        sock.write(Buffer.alloc(1000));
        setTimeout(() => sock.destroy(), 50);
      }),
    );
    servers.push(dying);
    const p = await startTestProxy(s, dying.url);
    const r = await fetch(`${p.url}/v2/team-a/app/blobs/sha256:${'a'.repeat(64)}`, { headers: { authorization: basic(stack.creds('alice')) } });
    assert.equal(r.status, 200);
    await assert.rejects(r.arrayBuffer());
    assert.equal((await fetch(`${p.url}/v2/`)).status, 401, 'the proxy still answers');
  });

  it('upstream refusing connections → 503; bad input is refused before any upstream work', async () => {
    const s = stack();
    const p = await startTestProxy(s, `http://127.0.0.1:${await freePort()}`);
    const auth = { authorization: basic(stack.creds('alice')) };
    const down = await fetch(`${p.url}/v2/team-a/app/tags/list`, { headers: auth });
    assert.equal(down.status, 503);
    assert.equal((await raw(p.host, 'PROPFIND', '/v2/team-a/app/tags/list', auth)).status, 405);
    assert.equal((await raw(p.host, 'BREW', '/v2/team-a/app/tags/list', auth)).status, 400, 'node\'s parser refuses a method it does not know');
    assert.equal((await raw(p.host, 'GET', '/v2/team-a/app/tags/list', { ...auth, 'x-big': 'a'.repeat(40000) })).status, 431, 'headers beyond the 32 KiB limit');
    const badRange = await fetch(`${p.url}/v2/team-a/app/blobs/sha256:${'a'.repeat(64)}`, { headers: { ...auth, range: 'bytes=z-' } });
    assert.equal(badRange.status, 416);
    assert.equal(await errorCode(badRange), 'RANGE_INVALID');
    const badBasic = await fetch(`${p.url}/v2/team-a/app/tags/list`, { headers: { authorization: 'Basic !!!' } });
    assert.equal(badBasic.status, 400);
    assert.equal(((await badBasic.json()) as { errors: Array<{ detail: { field: string } }> }).errors[0]?.detail.field, 'Authorization');
  });
});
