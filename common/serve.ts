/**
 * The HTTP lifecycle both servers share: listen on a parsed address, announce one `listening` line,
 * close gracefully (in-flight requests get 5 s, then every socket goes), and the CLI wrapper that
 * turns a bad configuration into exit code 2 and SIGTERM/SIGINT into a clean shutdown.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';

export interface Listening {
  server: Server;
  url: string;
  /** Stops accepting, lets in-flight requests finish (at most 5 s), then runs `cleanup`. Idempotent. */
  close(): Promise<void>;
}

export function urlOf(server: Server, scheme: 'http' | 'https' = 'http'): string {
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `${scheme}://${host}:${a.port}`;
}

/**
 * Serves `app` on host:port with bounded header size and timeouts: a slow client cannot hold a socket
 * forever; a whole request gets 30 s unless `requestTimeoutMs` says otherwise. On a listen error
 * `cleanup` runs and the error is thrown. Logs `listening` with `fields` even at --log-level
 * warn/error: scripts and the stack runner wait for that line. With `tls` it serves HTTPS.
 */
export async function listen(
  app: RequestListener,
  at: { host: string; port: number },
  opts: { logger: Logger; fields: Record<string, unknown>; cleanup: () => void; requestTimeoutMs?: number; maxHeaderSize?: number; tls?: { cert: Buffer; key: Buffer } },
): Promise<Listening> {
  const maxHeaderSize = opts.maxHeaderSize ?? 16384;
  const server: Server = opts.tls ? createTlsServer({ maxHeaderSize, cert: opts.tls.cert, key: opts.tls.key }, app) : createServer({ maxHeaderSize }, app);
  server.headersTimeout = 10_000;
  server.requestTimeout = opts.requestTimeoutMs ?? 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    opts.cleanup();
    throw e;
  });
  const url = urlOf(server, opts.tls ? 'https' : 'http');
  const announce = opts.logger.level === 'silent' ? opts.logger : opts.logger.child({}, { level: 'info' });
  announce.info({ url, ...opts.fields }, 'listening');
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => {
        opts.cleanup();
        resolve();
      });
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 5000).unref();
    }));
  return { server, url, close };
}

/** CLI entry: start, exit 2 with `<command>: <reason>` on bad config, stop cleanly on SIGTERM/SIGINT. */
export async function serveUntilSignal(command: string, name: string, start: () => Promise<{ close(): Promise<void> }>): Promise<void> {
  let running: { close(): Promise<void> };
  try {
    running = await start();
  } catch (e) {
    process.stderr.write(`${command}: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const stop = (signal: string) => {
    process.stderr.write(`${name}: ${signal} received, shutting down\n`);
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
