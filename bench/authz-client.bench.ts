/**
 * `npm run bench:authz-client [-- --seconds 5 --concurrency 32 --rounds 3 --write]`
 *
 * The authn → authz call in isolation: authn's client (node:http with a keep-alive agent,
 * authn-server/src/authz-client) against an axios client set up the way authn used it before
 * (same kind of keep-alive agent, no transforms, text reply parsed by us), both calling the real
 * authz-server (its own process, small seeded SQLite store) with the same request, `concurrency`
 * calls in flight. Rounds alternate the two clients so a shared machine's load hits both alike.
 * Reports calls/s and CPU µs per call in the calling process and in authz-server. `--write` saves
 * bench/results/authz-client.md.
 */
import axios from 'axios';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthorizedRequest } from '../common/authorized.js';
import { createAuthzClient } from '../authn-server/src/authz-client/index.js';
import { flag, helpIfAsked, numArg } from './args.js';
import { seed } from './authz-seed.js';

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = numArg('seconds', 5);
const CONCURRENCY = numArg('concurrency', 32);
const ROUNDS = numArg('rounds', 3);
const WRITE = flag('write', 'save bench/results/authz-client.md');
helpIfAsked('npm run bench:authz-client [-- flags]: authn\'s authz client beside axios, against the real authz-server');

function cpuSec(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function startAuthz(file: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(here, 'authz-server-child.ts'), 'authz', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ proc, url: `http://127.0.0.1:${m[1]}` });
    });
    proc.once('exit', (code) => reject(new Error(`authz child exited with ${code}`)));
  });
}

type Call = (body: AuthorizedRequest) => Promise<unknown>;

/** `CONCURRENCY` loops calling for SECONDS; calls/s, and CPU µs per call here and in authz-server. */
async function drive(call: Call, body: AuthorizedRequest, authzPid: number): Promise<{ rate: number; selfUs: number; authzUs: number }> {
  const until = performance.now() + SECONDS * 1000;
  let calls = 0;
  const c0 = process.cpuUsage();
  const z0 = cpuSec(authzPid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await call(body);
        calls++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { rate: calls / secs, selfUs: (c.user + c.system) / calls, authzUs: ((cpuSec(authzPid) - z0) * 1e6) / calls };
}

const dir = mkdtempSync(join(tmpdir(), 'tollgate-authz-client-bench-'));
let child: ChildProcess | undefined;
try {
  const file = join(dir, 'authz.db');
  await (await seed(file, 1000, 5)).store.close();
  const authz = await startAuthz(file);
  child = authz.proc;
  const body: AuthorizedRequest = { Account: 'user-1', Type: 'repository', Name: 'ns-7/app', Service: 'registry', IP: '127.0.0.1', Actions: ['pull'], Labels: null };

  const ours = createAuthzClient({ url: authz.url, token: 'bench-client' });
  // Baseline: axios as authn used it (keep-alive agent, no transforms, reply parsed by the caller).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64, scheduling: 'lifo', timeout: 4000 });
  const api = axios.create({
    baseURL: authz.url, timeout: 3000, httpAgent: agent, proxy: false, maxRedirects: 0, validateStatus: null,
    transformRequest: [], transformResponse: [], responseType: 'text', decompress: false,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Accept-Encoding': 'identity', Authorization: 'Bearer bench-client' },
  });
  const viaAxios: Call = async (b) => JSON.parse((await api.post<string>('/authorized', JSON.stringify(b))).data);
  const clients: Array<[string, Call]> = [["authn's client (node:http, keep-alive agent)", (b) => ours.authorize(b)], ['axios, keep-alive agent, transforms off', viaAxios]];

  for (const [, call] of clients) await drive(call, body, authz.proc.pid!); // warm-up: JIT and sockets
  const load0 = loadavg();
  const results = clients.map(() => [] as Array<Awaited<ReturnType<typeof drive>>>);
  for (let r = 0; r < ROUNDS; r++) for (const [i, [, call]] of clients.entries()) results[i]!.push(await drive(call, body, authz.proc.pid!));
  const load1 = loadavg();
  ours.close();
  agent.destroy();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows = clients.map(([name], i) => {
    const rs = results[i]!;
    return { name, rate: median(rs.map((x) => x.rate)), selfUs: median(rs.map((x) => x.selfUs)), authzUs: median(rs.map((x) => x.authzUs)), rounds: rs.map((x) => Math.round(x.rate)).join(', ') };
  });
  const [node, ax] = rows as [typeof rows[0], typeof rows[0]];
  const md = [
    '# authn → authz client benchmark',
    '',
    `Run \`npm run bench:authz-client -- --seconds ${SECONDS} --concurrency ${CONCURRENCY} --rounds ${ROUNDS}\` — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'};`,
    `load average ${load0.map((l) => l.toFixed(2)).join(' ')} at the start, ${load1.map((l) => l.toFixed(2)).join(' ')} at the end${load0[0]! > cpus().length ? ' — above the CPU count: other work shared the machine, so compare the two clients within this run, not with other runs' : ''}.`,
    `Real authz-server in its own process (tsx), ${CONCURRENCY} calls in flight from this process, ${ROUNDS} alternating rounds of ${SECONDS} s per client; medians.`,
    '',
    '| client | calls/s | per round | caller CPU µs/call | authz-server CPU µs/call |',
    '|---|---:|---|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${Math.round(r.rate)} | ${r.rounds} | ${Math.round(r.selfUs)} | ${Math.round(r.authzUs)} |`),
    '',
    `- node:http / axios: **${(node.rate / ax.rate).toFixed(2)}×** calls/s; caller CPU per call ${Math.round(node.selfUs)} vs ${Math.round(ax.selfUs)} µs (**${(ax.selfUs / node.selfUs).toFixed(2)}×** less).`,
    '',
  ].join('\n');
  process.stdout.write(md + '\n');
  if (WRITE) {
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', 'authz-client.md'), md);
  }
} finally {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
