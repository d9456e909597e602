/** Runs a real authz-server (`tollgate authz serve`) on a free loopback port with its own SQLite file. */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, type Proc } from './run.js';

export interface AuthzServer {
  url: string;
  adminToken: string;
  clientToken: string;
  adminTokenFile: string;
  clientTokenFile: string;
  proc: Proc;
  /** Admin REST call; returns status and parsed JSON body. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export async function startAuthz(dir: string, tag = 'a'): Promise<AuthzServer> {
  const adminToken = `admin-${tag}-${randomBytes(16).toString('hex')}`;
  const clientToken = `client-${tag}-${randomBytes(16).toString('hex')}`;
  const adminTokenFile = join(dir, `${tag}-admin.token`);
  const clientTokenFile = join(dir, `${tag}-client.token`);
  writeFileSync(adminTokenFile, `${adminToken}\n`, { mode: 0o600 });
  writeFileSync(clientTokenFile, `${clientToken}\n`, { mode: 0o600 });
  const args = ['--import', 'tsx', 'cli/tollgate.ts', 'authz', 'serve', '--listen', '127.0.0.1:0', '--db', join(dir, `${tag}.db`),
    '--admin-token-file', adminTokenFile, '--client-token-file', clientTokenFile, '--log-level', 'info'];
  // The server logs one JSON line with its URL once it listens (port 0 = the kernel picks a free one).
  const { proc, value: url } = await startProcess(process.execPath, args, (out) => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1]);
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
  return { url, adminToken, clientToken, adminTokenFile, clientTokenFile, proc, admin };
}
