/** Client IP and --trust-proxy: X-Forwarded-For is believed only from trusted proxies; the IP reaches authz and the throttle. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { clientIpResolver, parseCidrs } from '../src/request/client-ip.js';
import { basic, CountingThrottle, makeKeys, MemCredentials, StandInAuthz, tempDir, testApp } from './helpers.js';

describe('client IP and --trust-proxy', () => {
  it('ignores X-Forwarded-For without trusted proxies, or from an untrusted peer', () => {
    assert.equal(clientIpResolver(undefined)('10.0.0.1', '1.2.3.4'), '10.0.0.1');
    assert.equal(clientIpResolver(parseCidrs('192.168.0.0/16'))('10.0.0.1', '1.2.3.4'), '10.0.0.1');
  });

  it('walks X-Forwarded-For from the right past trusted hops', () => {
    const ip = clientIpResolver(parseCidrs('10.0.0.0/8, ::1'));
    assert.equal(ip('10.0.0.1', '6.6.6.6, 1.2.3.4, 10.9.9.9'), '1.2.3.4', 'a spoofed left-most entry is not believed');
    assert.equal(ip('::ffff:10.0.0.1', '1.2.3.4'), '1.2.3.4');
    assert.equal(ip('::1', ['5.5.5.5', '10.1.1.1']), '5.5.5.5');
    assert.equal(ip('10.0.0.1', 'garbage'), '10.0.0.1');
    assert.equal(ip('10.0.0.1', undefined), '10.0.0.1');
    // Ports some proxies append are dropped, so clients behind them are not all counted as the proxy.
    assert.equal(ip('10.0.0.1', '1.2.3.4:5678'), '1.2.3.4');
    assert.equal(ip('10.0.0.1', '[2001:db8::7]:443, 10.0.0.2'), '2001:db8::7');
    assert.equal(ip('10.0.0.1', '[::ffff:1.2.3.4]'), '1.2.3.4');
  });

  it('rejects malformed CIDRs by name', () => {
    for (const bad of ['10.0.0.0/33', 'nope', '10.0.0.0/x', '::1/129']) assert.throws(() => parseCidrs(bad), new RegExp(`invalid CIDR "${bad.replace(/[/.*]/g, '\\$&')}"`));
  });

  it('the resolved IP is what authz and the throttle see', async () => {
    const tmp = tempDir();
    const authz = await new StandInAuthz(() => ['pull']).start();
    const creds = new MemCredentials();
    creds.set('alice', 'pw');
    const throttle = new CountingThrottle();
    const t = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds, throttle, trustProxy: parseCidrs('127.0.0.1') });
    try {
      await request(t.app).get('/auth?service=registry.test&scope=repository:a/b:pull').set('Authorization', basic('alice', 'pw')).set('X-Forwarded-For', '203.0.113.7').expect(200);
      assert.equal(authz.requests[0]!.IP, '203.0.113.7');
      assert.deepEqual(throttle.calls, ['check alice 203.0.113.7', 'success alice 203.0.113.7']);
    } finally {
      t.authzClient.close();
      await authz.stop();
      tmp.cleanup();
    }
  });

  it('X-Forwarded-For from an untrusted peer: ignored, and one warning per 10 minutes says to set --trust-proxy', async () => {
    const tmp = tempDir();
    const authz = await new StandInAuthz(() => ['pull']).start();
    const creds = new MemCredentials();
    creds.set('alice', 'pw');
    const lines: Array<{ level: number; msg: string; peer?: string; ignored?: number }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
        cb();
      },
    });
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const throttle = new CountingThrottle();
    const t = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds, throttle, logger: createLogger({ name: 't', level: 'warn', destination: sink }), clock: () => new Date(clock.now) });
    const login = () => request(t.app).get('/auth?service=registry.test').set('Authorization', basic('alice', 'pw')).set('X-Forwarded-For', '203.0.113.7').expect(200);
    const warnings = () => lines.filter((l) => /X-Forwarded-For .*--trust-proxy/.test(l.msg));
    try {
      await login();
      await login();
      await request(t.app).get('/auth?service=registry.test').set('Authorization', basic('alice', 'pw')).expect(200);
      assert.equal(warnings().length, 1, 'one warning, not one per request');
      assert.equal(warnings()[0]!.level, 40);
      assert.equal(warnings()[0]!.peer, '127.0.0.1');
      assert.ok(throttle.calls.every((c) => c.endsWith(' 127.0.0.1')), 'the header was not believed');
      clock.now += 10 * 60_000;
      await login();
      assert.equal(warnings().length, 2, 'again after 10 minutes');
      assert.equal(warnings()[1]!.ignored, 2, 'counting the requests it stood for');
    } finally {
      t.authzClient.close();
      await authz.stop();
      tmp.cleanup();
    }
  });
});
