import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLoginThrottle } from '../src/throttle/index.js';
import { basic, makeKeys, MemCredentials, StandInAuthz, tempDir, testApp } from './helpers.js';

class Slow extends MemCredentials {
  override async authenticate(user: string, password: string) {
    await new Promise((r) => setTimeout(r, 50));
    return super.authenticate(user, password);
  }
}
describe('probe2', () => {
  it('parallel guesses', async () => {
    const tmp = tempDir();
    const keys = await makeKeys(tmp.dir);
    const authz = await new StandInAuthz(() => ['pull']).start();
    const creds = new Slow();
    creds.set('alice', 'pw');
    const t = testApp({ keys, authzUrl: authz.url, credentials: creds, throttle: createLoginThrottle() });
    const server = http.createServer(t.app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    const get = (pw: string) => new Promise<number>((res, rej) => http.get({ host: '127.0.0.1', port, agent, path: '/auth?service=registry.test', headers: { Authorization: basic('alice', pw) } }, (r) => { r.resume(); res(r.statusCode!); }).on('error', rej));
    const st = await Promise.all(Array.from({ length: 50 }, (_, i) => get('guess' + i)));
    console.log(st.join(','), 'bcrypt calls', creds.authCalls);
    agent.destroy(); server.closeAllConnections(); server.close(); t.authzClient.close(); await authz.stop(); tmp.cleanup();
  });
});
