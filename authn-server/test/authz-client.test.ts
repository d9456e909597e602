/**
 * The node:http client of /authorized (authz-client/index.ts) against real HTTP servers: what it
 * sends, and that every way an answer can go wrong ends in AuthzUnavailable (→ 503), never a hang.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthzUnavailable, createAuthzClient } from '../src/authz-client/index.js';
import { CLIENT_TOKEN } from './helpers.js';

const ASK = { Account: 'alice', Type: 'repository', Name: 'team-a/app', Service: 'registry.test', IP: '10.0.0.1', Actions: ['pull', 'push'], Labels: { team: ['a'] } };

async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => resolve(text));
  });
}

describe('authz client (node:http, keep-alive)', () => {
  it('POSTs the request as JSON with the client token under the URL path prefix, and reuses one connection', async () => {
    const seen: Array<{ method?: string; url?: string; auth?: string; type?: string; body: unknown; port: number }> = [];
    const s = await serve(async (req, res) => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body: JSON.parse(await readBody(req)), port: req.socket.remotePort ?? 0 });
      res.writeHead(403, { 'Content-Type': 'application/json' }).end('{"allowed":false,"actions":["pull"]}');
    });
    const client = createAuthzClient({ url: `${s.url}/authz/`, token: CLIENT_TOKEN });
    try {
      assert.deepEqual(await client.authorize(ASK), { allowed: false, actions: ['pull'] });
      assert.deepEqual(await client.authorize(ASK), { allowed: false, actions: ['pull'] });
      assert.equal(seen[0]!.method, 'POST');
      assert.equal(seen[0]!.url, '/authz/authorized');
      assert.equal(seen[0]!.auth, `Bearer ${CLIENT_TOKEN}`);
      assert.equal(seen[0]!.type, 'application/json');
      assert.deepEqual(seen[0]!.body, ASK);
      assert.equal(seen[1]!.port, seen[0]!.port, 'the second call reused the kept-alive socket');
    } finally {
      client.close();
      await s.close();
    }
  });

  it('a 403 is never "allowed", even when its body says so', async () => {
    const s = await serve(async (req, res) => {
      await readBody(req);
      res.writeHead(403, { 'Content-Type': 'application/json' }).end('{"allowed":true,"actions":["pull","push"]}');
    });
    const client = createAuthzClient({ url: s.url, token: CLIENT_TOKEN });
    try {
      assert.deepEqual(await client.authorize(ASK), { allowed: false, actions: ['pull', 'push'] });
    } finally {
      client.close();
      await s.close();
    }
  });

  for (const [title, reply] of [
    ['a reply larger than 64 KiB', (res: http.ServerResponse) => res.writeHead(200).end(`{"allowed":true,"actions":["${'x'.repeat(70 * 1024)}"]}`)],
    ['actions that are not strings', (res: http.ServerResponse) => res.writeHead(200).end('{"allowed":true,"actions":[1]}')],
    ['no allowed field', (res: http.ServerResponse) => res.writeHead(200).end('{"actions":["pull"]}')],
    ['a 401 (authz refuses our client token)', (res: http.ServerResponse) => res.writeHead(401).end('{"error":{"code":"unauthorized"}}')],
  ] as const) {
    it(`${title} → AuthzUnavailable`, async () => {
      const s = await serve(async (req, res) => {
        await readBody(req);
        reply(res);
      });
      const client = createAuthzClient({ url: s.url, token: CLIENT_TOKEN });
      try {
        await assert.rejects(client.authorize(ASK), AuthzUnavailable);
      } finally {
        client.close();
        await s.close();
      }
    });
  }

  it('a connection dropped in the middle of the reply is retried once on a new socket', async () => {
    let calls = 0;
    const s = await serve(async (req, res) => {
      await readBody(req);
      if (++calls === 1) {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
        res.write('{"allowed":tr');
        return void setTimeout(() => req.socket.destroy(), 20);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"allowed":true,"actions":["pull","push"]}');
    });
    const client = createAuthzClient({ url: s.url, token: CLIENT_TOKEN });
    try {
      assert.deepEqual(await client.authorize(ASK), { allowed: true, actions: ['pull', 'push'] });
      assert.equal(calls, 2);
    } finally {
      client.close();
      await s.close();
    }
  });

  it('the retry after a connection error goes out on a new connection, not on another pooled one (replica shutting down)', async () => {
    // A replica going away kills every keep-alive connection to it at once: each old socket dies
    // when used. A retry on the next pooled socket would die the same way; only a new one works.
    const old = new Set<unknown>();
    let dying = false;
    const s = await serve(async (req, res) => {
      await readBody(req);
      if (dying && old.has(req.socket)) return void req.socket.destroy();
      old.add(req.socket);
      setTimeout(() => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"allowed":true,"actions":["pull"]}'), 30);
    });
    const client = createAuthzClient({ url: s.url, token: CLIENT_TOKEN });
    try {
      await Promise.all([1, 2, 3].map(() => client.authorize(ASK)));
      assert.equal(old.size, 3, 'three pooled keep-alive sockets');
      dying = true;
      assert.deepEqual(await client.authorize(ASK), { allowed: true, actions: ['pull'] });
    } finally {
      client.close();
      await s.close();
    }
  });

  it('a server that accepts but never answers → AuthzUnavailable after the timeout, and the outcome is observed as an error', async () => {
    const s = await serve(() => undefined);
    const outcomes: string[] = [];
    const client = createAuthzClient({ url: s.url, token: CLIENT_TOKEN, timeoutMs: 200, observe: (_s, o) => outcomes.push(o) });
    try {
      const started = Date.now();
      await assert.rejects(client.authorize(ASK), /did not answer \/authorized within 200 ms/);
      assert.ok(Date.now() - started < 2000, 'gave up at the timeout');
      assert.deepEqual(outcomes, ['error']);
      assert.equal(await client.ping(), false);
    } finally {
      client.close();
      await s.close();
    }
  });
});
