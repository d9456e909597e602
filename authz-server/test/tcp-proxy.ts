/**
 * A small TCP proxy for the replica tests: one address in front of several upstream ports (round
 * robin, skipping an upstream that refuses, like a Service in front of ready pods), and a `freeze`
 * that stops forwarding without closing anything, which is what a network partition looks like.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Proxy {
  port: number;
  upstreams: number[];
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function tcpProxy(upstreams: number[]): Promise<Proxy> {
  const sockets = new Set<Socket>();
  let frozen = false;
  let next = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    if (frozen) s.pause();
  };
  const server: Server = createServer((client) => {
    track(client);
    client.pause();
    const tryConnect = (attempt: number) => {
      const list = proxy.upstreams;
      const port = list[next++ % list.length] as number;
      const up = connect(port, '127.0.0.1');
      up.once('connect', () => {
        track(up);
        client.pipe(up);
        up.pipe(client);
        client.on('close', () => up.destroy());
        up.on('close', () => client.destroy());
        if (!frozen) client.resume();
      });
      up.once('error', () => {
        if (attempt + 1 < list.length * 2) tryConnect(attempt + 1);
        else client.destroy();
      });
    };
    tryConnect(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxy: Proxy = {
    port: (server.address() as { port: number }).port,
    upstreams,
    freeze: () => {
      frozen = true;
      for (const s of sockets) s.pause();
    },
    thaw: () => {
      frozen = false;
      for (const s of sockets) s.resume();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  return proxy;
}
