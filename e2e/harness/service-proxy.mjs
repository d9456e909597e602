// SIMULATED kube-proxy for one Service: listens on LISTEN (host:port) and sends each new TCP connection
// to the next address in ENDPOINTS_FILE (a JSON array of "ip:port", re-read per connection). Like
// kube-proxy, a change of endpoints affects new connections only; open ones run on. Run inside the
// engine's network namespace: `nsenter --net=… node service-proxy.mjs LISTEN ENDPOINTS_FILE`.
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const [listen = '', file = ''] = process.argv.slice(2);
const [host, port] = listen.split(':');
let next = 0;
const server = createServer((client) => {
  let endpoints = [];
  try {
    endpoints = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    /* no endpoints yet */
  }
  if (!endpoints.length) return client.destroy();
  const [ip, p] = endpoints[next++ % endpoints.length].split(':');
  const upstream = connect(Number(p), ip);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
});
server.listen(Number(port), host, () => process.stdout.write(`listening ${listen}\n`));
process.on('SIGTERM', () => process.exit(0));
