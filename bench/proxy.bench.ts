/**
 * `npx tsx bench/proxy.bench.ts`: `tollgate proxy` (token mode, its own process) against the same registry reached
 * directly with token auth (authn + authz), on one Stack, with a **bare relay** (bench/proxy-bare.ts: node:http +
 * stream.pipeline, no auth, no rewriting; the registry still does token auth through it) measured in the same run as
 * the ceiling of any Node hop on this machine:
 * 1. skopeo pull and push of a multi-layer image, direct vs through the proxy vs through the bare relay (rounds
 *    interleaved, order rotated; medians and ratios — the issue asks proxy ≤ 1.10× direct);
 * 2. per request: serial `HEAD` of a blob on a fresh connection each (what skopeo does: it sends `Connection: close`),
 *    median latency and the relaying process's CPU per request (/proc/<pid>/stat), proxy vs bare relay vs direct;
 * 3. one large blob (default 1 GiB) uploaded and downloaded, direct (with a token from authn) vs through the
 *    proxy (Basic) vs the bare relay: throughput, CPU per GiB of the proxy and of the relay (user + system, from
 *    /proc/<pid>/stat — the figure that moves least with machine noise), and the proxy's RSS sampled every 100 ms
 *    during its transfers (the issue asks ≥ 0.8× direct, RSS flat ± 20 MB).
 * The blob is a 1 MiB random block repeated, streamed from memory, never held whole.
 *
 * Env: PROXY_BENCH_N (pull/push rounds, default 10), PROXY_BENCH_REQUESTS (serial HEADs per path, default 1000), PROXY_BENCH_LAYERS (default 5), PROXY_BENCH_LAYER_KB (text per
 * layer before gzip, default 4096), PROXY_BENCH_BLOB_MB (default 1024), PROXY_BENCH_DECISION_CACHE_TTL (the proxy's
 * --decision-cache-ttl; unset = as started with no cache flag: decisions cached, kept current by authz's change feed;
 * `0` = one /authorized call per proxied request), PROXY_BENCH_MALLOC_ARENA_MAX
 * (the proxy's MALLOC_ARENA_MAX, default 1 as in compose/k8s; empty = unset), PROXY_BENCH_OUT (default
 * bench/results/proxy.md). Quick check: PROXY_BENCH_N=1 PROXY_BENCH_REQUESTS=50 PROXY_BENCH_BLOB_MB=8 npx tsx bench/proxy.bench.ts
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeOciImage } from '../scripts/make-oci-image.js';
import { freePort, Proc, ROOT, waitForHttp } from '../e2e/harness/procs.js';
import { Skopeo } from '../e2e/harness/skopeo.js';
import { ISSUER, SERVICE, Stack } from '../e2e/harness/stack.js';
import { getToken } from '../e2e/harness/token.js';
import { helpIfAsked, numEnv } from './args.js';

const N = numEnv('PROXY_BENCH_N', 10, { min: 1 });
const REQUESTS = numEnv('PROXY_BENCH_REQUESTS', 1000, { min: 1 });
const LAYERS = numEnv('PROXY_BENCH_LAYERS', 5, { min: 1 });
const LAYER_KB = numEnv('PROXY_BENCH_LAYER_KB', 4096, { min: 1 });
const BLOB_MB = numEnv('PROXY_BENCH_BLOB_MB', 1024, { min: 1 });
/** glibc malloc arenas of the proxy process, as deployed (docs/proxy.md "Memory"); '' leaves it unset. */
const ARENAS = process.env.PROXY_BENCH_MALLOC_ARENA_MAX ?? '1';
/** The proxy's --decision-cache-ttl; unset: as started, with authn's default (cache kept current by the change feed). */
const DECISION_TTL = process.env.PROXY_BENCH_DECISION_CACHE_TTL;
const OUT = process.env.PROXY_BENCH_OUT ?? join(ROOT, 'bench', 'results', 'proxy.md');
helpIfAsked('npx tsx bench/proxy.bench.ts: tollgate proxy vs direct vs a bare relay (environment variables below; see the file\'s opening comment)');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const sha = (h: ReturnType<typeof createHash>): string => `sha256:${h.digest('hex')}`;

/** N single-layer images in one layout, merged into one N-layer image tagged `multi`. */
function multiLayerImage(dir: string): void {
  for (let i = 0; i < LAYERS; i++) makeOciImage(dir, `l${i}`, { files: { [`layer${i}.txt`]: randomBytes((LAYER_KB * 1024 * 3) / 4).toString('base64') } });
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const blob = (d: string) => readFileSync(join(dir, 'blobs', 'sha256', d.slice(7)));
  const parts = index.manifests.map((m) => JSON.parse(blob(m.digest).toString()) as { config: { digest: string }; layers: unknown[] });
  const diffIds = parts.map((p) => (JSON.parse(blob(p.config.digest).toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids[0]);
  const write = (b: Buffer) => {
    const hex = createHash('sha256').update(b).digest('hex');
    writeFileSync(join(dir, 'blobs', 'sha256', hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const config = write(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } })));
  const manifest = write(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: parts.map((p) => p.layers[0]) })));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }] }));
}

function blobStream(block: Buffer, count: number): Readable {
  let sent = 0;
  return new Readable({ read() { this.push(sent++ < count ? block : null); } });
}

function request(url: string, method: string, headers: Record<string, string>, body?: Readable): Promise<{ status: number; location: string; bytes: number }> {
  return new Promise((ok, fail) => {
    const req = http.request(url, { method, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => ok({ status: res.statusCode ?? 0, location: String(res.headers.location ?? ''), bytes }));
    });
    req.on('error', fail);
    if (body) body.pipe(req);
    else req.end();
  });
}

/** Upload then download the blob at `base`; returns MB/s each way. */
async function blobRound(base: string, auth: string, repo: string, block: Buffer, digest: string, blocks = BLOB_MB): Promise<{ up: number; down: number }> {
  const mb = (block.length * blocks) / 1e6;
  const start = await request(`${base}/v2/${repo}/blobs/uploads/`, 'POST', { authorization: auth, 'content-length': '0' });
  if (start.status !== 202) throw new Error(`upload start → ${start.status}`);
  const loc = new URL(start.location, base);
  loc.searchParams.set('digest', digest);
  let t = performance.now();
  const put = await request(loc.href, 'PUT', { authorization: auth, 'content-type': 'application/octet-stream', 'content-length': String(block.length * blocks) }, blobStream(block, blocks));
  if (put.status !== 201) throw new Error(`upload → ${put.status}`);
  const up = mb / ((performance.now() - t) / 1000);
  t = performance.now();
  const get = await request(`${base}/v2/${repo}/blobs/${digest}`, 'GET', { authorization: auth });
  if (get.status !== 200 || get.bytes !== block.length * blocks) throw new Error(`download → ${get.status}, ${get.bytes} bytes`);
  return { up, down: mb / ((performance.now() - t) / 1000) };
}

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
/** user + system CPU of a process so far, in ms (fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** One `HEAD` on a fresh connection (`Connection: close`, as skopeo sends); ms to the end of the answer. */
function head(host: string, path: string, auth: string): Promise<number> {
  const [hostname, port] = host.split(':');
  return new Promise((ok, fail) => {
    const t = performance.now();
    const req = http.request({ hostname, port: Number(port), method: 'HEAD', path, agent: false, headers: { authorization: auth, connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => ok(performance.now() - t));
    });
    req.on('error', fail);
    req.end();
  });
}

type Via = 'direct' | 'proxy' | 'bare';
interface Target { host: string; pid: number; auth: string }

/** Serial HEADs through each path, interleaved in 10 slices: median ms and the relaying process's CPU per request. */
async function perRequest(targets: Record<Via, Target>, path: string): Promise<Record<Via, { ms: number; cpuMs: number }>> {
  const ms: Record<Via, number[]> = { direct: [], proxy: [], bare: [] };
  const cpu: Record<Via, number> = { direct: 0, proxy: 0, bare: 0 };
  for (let slice = 0; slice < 10; slice++) {
    for (const via of ['direct', 'proxy', 'bare'] as const) {
      const t = targets[via];
      const c0 = cpuMs(t.pid);
      for (let i = 0; i < REQUESTS / 10; i++) ms[via].push(await head(t.host, path, t.auth));
      cpu[via] += cpuMs(t.pid) - c0;
    }
  }
  const out = {} as Record<Via, { ms: number; cpuMs: number }>;
  for (const via of ['direct', 'proxy', 'bare'] as const) out[via] = { ms: median(ms[via]), cpuMs: cpu[via] / ms[via].length };
  return out;
}

/** blobRound with the CPU the process `pid` spent on it, per GiB moved each way. */
async function measuredRound(pid: number, base: string, auth: string, repo: string, block: Buffer, digest: string): Promise<{ up: number; down: number; cpuPerGiB: number }> {
  const c0 = cpuMs(pid);
  const r = await blobRound(base, auth, repo, block, digest);
  return { ...r, cpuPerGiB: (cpuMs(pid) - c0) / ((2 * BLOB_MB) / 1024) };
}

function startProxy(s: Stack, port: number): Proc {
  return new Proc({
    name: 'proxy', cmd: process.execPath, logFile: join(s.dir, 'proxy.log'), dropEnv: /^TOLLGATE_|^MALLOC_ARENA_MAX$/,
    ...(ARENAS ? { env: { MALLOC_ARENA_MAX: ARENAS } } : {}),
    args: ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'proxy', '--listen', `127.0.0.1:${port}`, '--upstream', s.registry!.url, '--authz-url', s.authzUrl,
      '--authz-token-file', join(s.dir, 'client.token'), '--issuer', ISSUER, '--service', SERVICE, '--key', s.key.key, '--cert', s.key.cert, '--users', join(s.dir, 'users.yml'), ...(DECISION_TTL === undefined ? [] : ['--decision-cache-ttl', DECISION_TTL]), '--log-level', 'warn'],
  });
}

async function main(): Promise<void> {
  const users = { alice: randomBytes(12).toString('hex') };
  const creds = { user: 'alice', password: users.alice };
  const s = await Stack.start({ users, spy: false });
  try {
    await s.addRole('rw', [{ request_type: 'repository', name: 'bench/**', actions: ['pull', 'push'] }]);
    await s.bind('alice', 'rw');
    const [port, barePort] = [await freePort(), await freePort()];
    const proxy = startProxy(s, port);
    s.defer(() => proxy.stop());
    // The relay runs as the bench does (tsx, same node), with glibc's default arenas.
    const bare = new Proc({ name: 'bare-relay', cmd: process.execPath, logFile: join(s.dir, 'bare.log'), args: ['--import', 'tsx', join(ROOT, 'bench', 'proxy-bare.ts'), String(barePort), s.registry!.url] });
    s.defer(() => bare.stop());
    const hosts: Record<Via, string> = { direct: s.registry!.host, proxy: `127.0.0.1:${port}`, bare: `127.0.0.1:${barePort}` };
    await waitForHttp(`http://${hosts.proxy}/v2/`, [401], proxy);
    await waitForHttp(`http://${hosts.bare}/v2/`, [401], bare);

    const layout = join(s.dir, 'multi');
    multiLayerImage(layout);
    const push: Record<Via, number[]> = { direct: [], proxy: [], bare: [] };
    const pull: Record<Via, number[]> = { direct: [], proxy: [], bare: [] };
    const sk = new Skopeo(s.home('bench'), { cacheDir: false });
    const timed = async (f: () => Promise<{ code: number | null; out: string }>): Promise<number> => {
      const t = performance.now();
      const r = await f();
      if (r.code !== 0) throw new Error(r.out);
      return performance.now() - t;
    };
    const vias: Via[] = ['direct', 'proxy', 'bare'];
    for (let i = 0; i < N + 1; i++) {
      for (const via of [...vias.slice(i % 3), ...vias.slice(0, i % 3)]) {
        const ref = `${hosts[via]}/bench/${via}${i}:v1`;
        const pushed = await timed(() => sk.push(layout, 'multi', ref, creds));
        const pulled = await timed(() => sk.pull(ref, join(s.dir, 'pulled', `${via}${i}`), creds));
        if (i === 0) continue; // warm-up round
        push[via].push(pushed);
        pull[via].push(pulled);
      }
    }

    const basicAuth = `Basic ${Buffer.from(`alice:${users.alice}`).toString('base64')}`;
    const headToken = await getToken(s.authnUrl, creds, ['repository:bench/direct1:pull']);
    // The image's config blob: a HEAD answered 200 with its length, as skopeo's existence checks are.
    const blobFile = (d: string) => readFileSync(join(layout, 'blobs', 'sha256', d.slice(7)), 'utf8');
    const manifestDigest = (JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
    const headPath = `/v2/bench/direct1/blobs/${(JSON.parse(blobFile(manifestDigest)) as { config: { digest: string } }).config.digest}`;
    const registryPid = (s.registry as unknown as { proc: Proc }).proc.child.pid!;
    const requests = await perRequest({
      direct: { host: hosts.direct, pid: registryPid, auth: `Bearer ${headToken.token}` },
      proxy: { host: hosts.proxy, pid: proxy.child.pid!, auth: basicAuth },
      bare: { host: hosts.bare, pid: bare.child.pid!, auth: `Bearer ${headToken.token}` },
    }, headPath);

    const block = randomBytes(1 << 20);
    const h = createHash('sha256');
    for (let i = 0; i < BLOB_MB; i++) h.update(block);
    const digest = sha(h);
    const token = await getToken(s.authnUrl, creds, ['repository:bench/big-direct:pull,push', 'repository:bench/big-bare:pull,push']);
    const direct = await blobRound(s.registry!.url, `Bearer ${token.token}`, 'bench/big-direct', block, digest);
    // Warm-up through the proxy (a smaller blob): code paths compiled, buffers and heap at their working size.
    // "Flat" is then judged against that working size, over the whole large transfer.
    const warmMb = Math.min(BLOB_MB, 64);
    const warmHash = createHash('sha256');
    for (let i = 0; i < warmMb; i++) warmHash.update(block);
    await blobRound(`http://${hosts.proxy}`, basicAuth, 'bench/warm', block, sha(warmHash), warmMb);
    const baseline = rssMb(proxy.child.pid!);
    const samples: number[] = [];
    const timer = setInterval(() => samples.push(rssMb(proxy.child.pid!)), 100);
    const viaProxy = await measuredRound(proxy.child.pid!, `http://${hosts.proxy}`, basicAuth, 'bench/big-proxy', block, digest);
    clearInterval(timer);
    const viaBare = await measuredRound(bare.child.pid!, `http://${hosts.bare}`, `Bearer ${token.token}`, 'bench/big-bare', block, digest);

    const r2 = (x: number) => x.toFixed(2);
    const ratio = (a: number, b: number) => `${r2(a / b)}×`;
    const row = (what: string, d: number, p: number, b: number) => `| ${what} | ${r2(d)} | ${r2(p)} | ${r2(b)} | ${ratio(p, d)} | ${ratio(b, d)} |`;
    const lines = [
      '# proxy benchmark',
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; node ${process.version}. Command: \`npx tsx bench/proxy.bench.ts\` (N=${N}, ${LAYERS} layers of ${LAYER_KB} KiB text, ${REQUESTS} HEADs per path, blob ${BLOB_MB} MiB, proxy ${DECISION_TTL === undefined ? 'with no cache flag (change feed + decision cache)' : `--decision-cache-ttl ${DECISION_TTL}`}, MALLOC_ARENA_MAX=${ARENAS || 'unset'}).`,
      '',
      '"bare relay" is bench/proxy-bare.ts, the ceiling of one Node hop here: node:http + stream.pipeline on a keep-alive agent, no authentication, no decision, no header rewriting.',
      '',
      '| measure | direct (token auth) | through the proxy | through the bare relay | proxy / direct | bare relay / direct |',
      '|---|---|---|---|---|---|',
      row('skopeo pull, median ms', median(pull.direct), median(pull.proxy), median(pull.bare)),
      row('skopeo push, median ms', median(push.direct), median(push.proxy), median(push.bare)),
      row('HEAD blob on a fresh connection, median ms', requests.direct.ms, requests.proxy.ms, requests.bare.ms),
      row('blob upload MB/s', direct.up, viaProxy.up, viaBare.up),
      row('blob download MB/s', direct.down, viaProxy.down, viaBare.down),
      '',
      `CPU of the relaying process: per HEAD ${r2(requests.proxy.cpuMs)} ms (proxy) vs ${r2(requests.bare.cpuMs)} ms (bare relay) — the registry itself spent ${r2(requests.direct.cpuMs)} ms per direct HEAD; per GiB moved (up and down together) ${viaProxy.cpuPerGiB.toFixed(0)} ms (proxy) vs ${viaBare.cpuPerGiB.toFixed(0)} ms (bare relay).`,
      '',
      `Proxy RSS during its ${BLOB_MB} MiB transfers (after a ${warmMb} MiB warm-up through it): baseline ${r2(baseline)} MB, min ${r2(Math.min(...samples))} MB, max ${r2(Math.max(...samples))} MB (max − baseline ${r2(Math.max(...samples) - baseline)} MB) over ${samples.length} samples every 100 ms.`,
      '',
    ];
    mkdirSync(join(OUT, '..'), { recursive: true });
    writeFileSync(OUT, lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\nwritten to ${OUT}\n`);
  } finally {
    await s.stop();
  }
}

await main();
