/**
 * `tollgate proxy` for the e2e suite, run in the test process (so a test can count its open file
 * descriptors) against a Stack's authz, keys and users file, in token mode (upstream = the stack's
 * token-auth registry) or plain mode (an auth-less registry of its own). `raw()` sends a request
 * target byte for byte (fetch would normalise `..` and `%2F` away before the proxy saw them).
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { createLogger } from '../../common/logger.js';
import { startProxy, type RunningProxy } from '../../proxy/src/main.js';
import type { ProxyFlags } from '../../proxy/src/config.js';
import { ISSUER, SERVICE, type Stack } from './stack.js';

export function proxyFlags(s: Stack, upstream: string, more: Partial<ProxyFlags> = {}): ProxyFlags {
  return {
    listen: '127.0.0.1:0',
    upstream,
    authzUrl: s.authzUrl,
    authzTokenFile: join(s.dir, 'client.token'),
    issuer: ISSUER,
    service: [SERVICE],
    key: s.key.key,
    cert: s.key.cert,
    users: join(s.dir, 'users.yml'),
    upstreamTimeout: '5s',
    ...more,
  };
}

/** Starts the proxy; stopped by the stack's teardown. The logger is silent unless TOLLGATE_E2E_PROXY_LOG=1. */
export async function startTestProxy(s: Stack, upstream: string, more: Partial<ProxyFlags> = {}): Promise<RunningProxy & { host: string }> {
  const logger = createLogger({ name: 'proxy', level: process.env.TOLLGATE_E2E_PROXY_LOG === '1' ? 'debug' : 'silent' });
  const p = await startProxy(proxyFlags(s, upstream, more), logger, {});
  s.defer(() => p.close());
  return { ...p, host: p.url.replace(/^https?:\/\//, '') };
}

export interface RawReply {
  status: number;
  head: string;
  body: string;
}

/** One HTTP/1.1 request written as is on a fresh connection; the whole reply as text. */
export function raw(host: string, method: string, target: string, headers: Record<string, string> = {}): Promise<RawReply> {
  const [h, port] = host.split(':');
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), h!);
    const chunks: Buffer[] = [];
    sock.setTimeout(10000, () => sock.destroy(new Error('raw request timed out')));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: end < 0 ? '' : text.slice(end + 4) });
    });
    const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
    sock.write(lines.join('\r\n'));
  });
}

export const basic = (c: { user: string; password: string }): string => `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}`;
