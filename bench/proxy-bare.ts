/**
 * The ceiling for `bench/proxy.bench.ts`: a bare node:http relay (no authentication, no decision, no header
 * rewriting — the client's `Host` and `Authorization` pass unchanged, so the registry still does token auth
 * with authn) on a keep-alive agent, bodies moved with `stream.pipeline` exactly as proxy/src/forward.ts
 * moves them. What an extra Node hop costs on this machine, measured in the same run as the proxy.
 * Usage: node --import tsx bench/proxy-bare.ts <listen port> <upstream origin>
 */
import http from 'node:http';
import { pipeline } from 'node:stream';

const [port, origin] = [Number(process.argv[2]), new URL(process.argv[3] ?? '')];
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
const server = http.createServer((req, res) => {
  const up = http.request({ host: origin.hostname, port: origin.port, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.headers);
    pipeline(upRes, res, () => {});
  });
  up.on('error', () => res.destroy());
  pipeline(req, up, () => {});
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
});
