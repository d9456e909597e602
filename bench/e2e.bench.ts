/**
 * `npm run bench:e2e`: wall time of `skopeo copy` pulls of one small image from three registries
 * running side by side — token auth through tollgate (authn + authz), the registry's own htpasswd
 * auth, and no auth — plus probes that show where tollgate's extra time per pull goes.
 *
 * Fairness: every setup gets the same warm-up; rounds are paired (one pull of each setup per round)
 * and the order inside a round is shuffled, so neither machine drift nor position favours a setup;
 * bcrypt cost is the same for tollgate's users file and the htpasswd file. Precision: medians with a
 * bootstrap 95% interval (rounds resampled as pairs), and the spread (p10/p90).
 *
 * Env: E2E_BENCH_N (measured rounds, default 100), E2E_BENCH_WARMUP (rounds thrown away, default 10),
 * E2E_BENCH_PROBES (samples per probe, default 200), E2E_BENCH_COST (bcrypt cost, default 10),
 * E2E_BENCH_OUT (results file, default bench/results/e2e.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { makeOciImage } from '../scripts/make-oci-image.js';
import { ROOT, tempDir } from '../e2e/harness/procs.js';
import { startRegistry, type Registry } from '../e2e/harness/registry.js';
import { Skopeo, type Creds } from '../e2e/harness/skopeo.js';
import { SERVICE, Stack } from '../e2e/harness/stack.js';
import { helpIfAsked, numEnv } from './args.js';

const N = numEnv('E2E_BENCH_N', 100, { min: 1 });
const WARMUP = numEnv('E2E_BENCH_WARMUP', 10, { min: 0 });
const PROBES = numEnv('E2E_BENCH_PROBES', 200, { min: 1 });
const COST = numEnv('E2E_BENCH_COST', 10, { min: 4, max: 31 });
const OUT = process.env.E2E_BENCH_OUT ?? join(ROOT, 'bench', 'results', 'e2e.md');
helpIfAsked('npm run bench:e2e: skopeo pulls through tollgate vs htpasswd vs no auth (environment variables below)');

// --- statistics -------------------------------------------------------------------------------
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number): number => {
  const s = sorted(xs);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return (s[lo] as number) + ((s[Math.min(lo + 1, s.length - 1)] as number) - (s[lo] as number)) * (pos - lo);
};
const median = (xs: number[]): number => quantile(xs, 0.5);

/** Deterministic PRNG (mulberry32), so a re-run shuffles and resamples the same way. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 95% bootstrap interval of `stat` over paired rounds (resampling round indices). */
function bootstrap(rounds: number, stat: (idx: number[]) => number, samples = 2000): [number, number] {
  const rand = rng(42);
  const out: number[] = [];
  for (let b = 0; b < samples; b++) out.push(stat(Array.from({ length: rounds }, () => Math.floor(rand() * rounds))));
  return [quantile(out, 0.025), quantile(out, 0.975)];
}

// --- HTTP probes: one fresh connection per request, the way each skopeo process connects ----------
const fresh = new http.Agent({ keepAlive: false });
const pooled = new http.Agent({ keepAlive: true, maxSockets: 1 });

function timed(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {}): Promise<{ ms: number; status: number }> {
  return new Promise((ok, fail) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: opts.agent ?? fresh }, (res) => {
      res.resume();
      res.on('end', () => ok({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode ?? 0 }));
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}

/** Sum and count of a Prometheus histogram on authn's /metrics, over the series whose labels contain every one of `labels`. */
async function histogram(url: string, name: string, labels: string[]): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(url)).text();
  const pick = (suffix: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}_${suffix}{`) && labels.every((x) => l.includes(x)))
      .reduce((acc, l) => acc + Number(l.split(' ').pop()), 0);
  return { sum: pick('sum'), count: pick('count') };
}

/** Mean milliseconds of what a histogram observed between two readings. */
const meanMs = (a: { sum: number; count: number }, b: { sum: number; count: number }): number => (b.count > a.count ? ((b.sum - a.sum) / (b.count - a.count)) * 1000 : NaN);

interface Setup {
  key: 'tollgate' | 'htpasswd' | 'none';
  name: string;
  host: string;
  creds: Creds | undefined;
  proc: () => { output(): string };
  times: number[];
  requests: number;
}

const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);

type Probes = Record<'token' | 'authz' | 'ping401' | 'ping200' | 'manBearer' | 'manOpen', number[]>;

/** Interleaved probes, each a piece of what a tollgate pull does that a no-auth pull does not. */
async function runProbes(s: Stack, open: Registry, basic: string, user: string): Promise<Probes> {
  const tokenReg = s.registry as Registry;
  const q = new URLSearchParams({ service: SERVICE, account: user, scope: 'repository:bench/app:pull' });
  const tokenReply = await fetch(`${s.authnUrl}/auth?${q}`, { headers: { authorization: basic } });
  const bearer = `Bearer ${((await tokenReply.json()) as { token: string }).token}`;
  const decision = JSON.stringify({ Account: user, Type: 'repository', Name: 'bench/app', Service: SERVICE, IP: '127.0.0.1', Actions: ['pull'], Labels: null });
  const manifestPath = '/v2/bench/app/manifests/v1';
  const accept = 'application/vnd.oci.image.manifest.v1+json';
  const probe: Probes = { token: [], authz: [], ping401: [], ping200: [], manBearer: [], manOpen: [] };
  for (let i = 0; i < PROBES; i++) {
    probe.token.push((await timed(`${s.authnUrl}/auth?${q}`, { headers: { authorization: basic } })).ms);
    probe.authz.push(
      (await timed(`${s.authzUrl}/authorized`, { method: 'POST', agent: pooled, body: decision, headers: { authorization: `Bearer ${s.clientToken}`, 'content-type': 'application/json' } })).ms,
    );
    probe.ping401.push((await timed(`${tokenReg.url}/v2/`)).ms);
    probe.ping200.push((await timed(`${open.url}/v2/`)).ms);
    probe.manBearer.push((await timed(`${tokenReg.url}${manifestPath}`, { headers: { authorization: bearer, accept } })).ms);
    probe.manOpen.push((await timed(`${open.url}${manifestPath}`, { headers: { accept } })).ms);
  }
  return probe;
}

interface Measured {
  setups: Setup[];
  probe: Probes;
  authnServerMs: number;
  authzCallMs: number;
  tokensPerPull: number;
  load0: number;
  load1: number;
}

/** The results file: what was measured, how, the verdicts with their uncertainty, and the breakdown. */
function report({ setups, probe, authnServerMs, authzCallMs, tokensPerPull, load0, load1 }: Measured): string {
  const [tg, hp, na] = setups as [Setup, Setup, Setup];
  const ratioCi = (a: Setup, b: Setup) => bootstrap(N, (idx) => median(idx.map((i) => a.times[i] as number)) / median(idx.map((i) => b.times[i] as number)));
  const medCi = (st: Setup) => bootstrap(N, (idx) => median(idx.map((i) => st.times[i] as number)));
  const diffs = tg.times.map((x, i) => x - (na.times[i] as number));
  const diffCi = bootstrap(N, (idx) => median(idx.map((i) => diffs[i] as number)));
  const verdict = (r: number, ci: [number, number], target: number) =>
    `**${r.toFixed(3)}×** (95% CI ${ci[0].toFixed(3)}–${ci[1].toFixed(3)}; target ≤ ${target}×: ${ci[1] <= target ? 'met' : ci[0] > target ? 'missed' : r <= target ? 'met at the median, within noise of the target' : 'missed at the median, within noise of the target'})`;
  const pm = (xs: number[]) => median(xs);
  const challengeCost = pm(probe.ping401) - pm(probe.ping200);
  const verifyCost = pm(probe.manBearer) - pm(probe.manOpen);
  const manifestGets = 3; // manifest, config blob, layer blob carry the bearer token
  const explained = pm(probe.token) + Math.max(0, challengeCost) + manifestGets * Math.max(0, verifyCost);
  const skopeoVersion = execFileSync('skopeo', ['--version']).toString().trim();
  const registryVersion = execFileSync('docker-registry', ['--version']).toString().trim();
  const busy = Math.max(load0, load1) > cpus().length;
  const rows = setups.map((st) => {
    const ci = medCi(st);
    return `| ${st.name} | ${f1(median(st.times))} | ${f1(ci[0])}–${f1(ci[1])} | ${f1(quantile(st.times, 0.1))} | ${f1(quantile(st.times, 0.9))} | ${f1(Math.min(...st.times))} | ${f1(st.requests)} |`;
  });
  return [
    '# e2e benchmark: skopeo pulls through tollgate vs htpasswd vs no auth',
    '',
    `Generated by \`npm run bench:e2e\` on ${new Date().toISOString()} — ${cpus().length} CPU(s), ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version},`,
    `${skopeoVersion}, ${registryVersion}. Load average ${f2(load0)} at start, ${f2(load1)} at end${busy ? ' — **more than the CPU count: other work shared the machine, so the spread is wider than on a quiet one**' : ''}.`,
    '',
    `Method: ${N} measured rounds after ${WARMUP} warm-up rounds; each round pulls once from each registry, in a shuffled order.`,
    'Each pull is a fresh `skopeo copy docker://… oci:<new dir>` process — the way a CI job pulls — so every tollgate pull',
    'gets a new token. Same image (one 64 KiB layer), same skopeo, same registry binary; bcrypt cost',
    `${COST} for both tollgate's users file and the htpasswd file; tollgate runs with its defaults (no decision cache).`,
    '',
    '| setup | median ms | 95% CI of median | p10 | p90 | min | registry requests per pull |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `- tollgate / htpasswd: ${verdict(median(tg.times) / median(hp.times), ratioCi(tg, hp), 1.05)}`,
    `- tollgate / no auth: ${verdict(median(tg.times) / median(na.times), ratioCi(tg, na), 1.15)}`,
    `- tollgate − no auth, same round: median **${f1(median(diffs))} ms** (95% CI ${f1(diffCi[0])}–${f1(diffCi[1])})`,
    '',
    '## Where tollgate\'s extra time per pull goes',
    '',
    `Probes from this process, ${PROBES} samples each, new connection per request like a fresh skopeo (medians):`,
    '',
    '| step a tollgate pull adds | ms |',
    '|---|---:|',
    `| token request \`GET /auth\` (Basic, one scope), as the client sees it | ${f2(pm(probe.token))} |`,
    `| … of which authn's own handling, mean over the measured pulls (its /metrics; ${f2(tokensPerPull)} token requests per pull) | ${f2(authnServerMs)} |`,
    `| … … of which the call to authz \`POST /authorized\`, mean as authn timed it (a kept-alive round trip from here: median ${f2(pm(probe.authz))}) | ${f2(authzCallMs)} |`,
    `| registry \`GET /v2/\` answering 401 + challenge instead of 200 | ${f2(challengeCost)} |`,
    `| registry verifying the bearer JWT, per request (manifest with token vs open) × ${manifestGets} requests | ${f2(verifyCost)} × ${manifestGets} |`,
    `| **sum** | **${f2(explained)}** |`,
    '',
    `Observed: ${f1(median(diffs))} ms per pull. What the probes do not cover is skopeo's own work for a token pull: parsing the challenge,`,
    'a second TCP connection (to authn), decoding the token reply — client time that no server setting can remove.',
    'htpasswd is the slowest because the registry bcrypt-checks the Basic password on every request of the pull; tollgate checks',
    "it once per token request and keeps successful checks in a short-lived in-memory cache (authn's verifier).",
    'Absolute numbers depend on the machine; compare the ratios, all measured in the same run.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const t = tempDir('tollgate-bench-e2e-');
  const creds: Creds = { user: 'bench', password: 'bench-password-0123' };
  const basic = `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`;
  let stack: Stack | undefined;
  const regs: Registry[] = [];
  const load0 = loadavg()[0] ?? 0;
  try {
    stack = await Stack.start({ users: { bench: creds.password }, bcryptCost: COST, spy: false });
    await stack.addRole('ns-rw', [{ request_type: 'repository', name: '${namespace}/**', actions: ['pull', 'push'] }]);
    await stack.bind('bench', 'ns-rw', 'bench');
    const htpasswd = await startRegistry(join(t.dir, 'htpasswd'), { htpasswd: { users: { bench: creds.password }, bcryptCost: COST } });
    const open = await startRegistry(join(t.dir, 'open'), { none: true });
    regs.push(htpasswd, open);
    const s = stack;
    const tokenReg = s.registry as Registry;
    const setups: Setup[] = [
      { key: 'tollgate', name: 'tollgate (token auth)', host: tokenReg.host, creds, proc: () => tokenReg.proc, times: [], requests: 0 },
      { key: 'htpasswd', name: 'htpasswd (registry basic auth)', host: htpasswd.host, creds, proc: () => htpasswd.proc, times: [], requests: 0 },
      { key: 'none', name: 'no auth', host: open.host, creds: undefined, proc: () => open.proc, times: [], requests: 0 },
    ];
    const img = makeOciImage(join(t.dir, 'image'), 'v1', { files: { 'bench.txt': 'x'.repeat(64 * 1024) } });
    const sk = new Skopeo(join(t.dir, 'skopeo'), { cacheDir: false });
    mkdirSync(join(t.dir, 'pulls'), { recursive: true });
    let seq = 0;
    const pull = async (st: Setup): Promise<number> => {
      const out = join(t.dir, 'pulls', String(seq++));
      const t0 = process.hrtime.bigint();
      const r = await sk.pull(`${st.host}/bench/app:v1`, out, st.creds);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.code !== 0) throw new Error(`pull from ${st.name} failed: ${r.out}`);
      return ms;
    };
    for (const st of setups) {
      const r = await sk.push(img.dir, 'v1', `${st.host}/bench/app:v1`, st.creds);
      if (r.code !== 0) throw new Error(`push to ${st.name} failed: ${r.out}`);
    }

    const rand = rng(7);
    const round = async (record: boolean): Promise<void> => {
      const order = [...setups];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j] as Setup, order[i] as Setup];
      }
      for (const st of order) {
        const ms = await pull(st);
        if (record) st.times.push(ms);
      }
    };
    for (let i = 0; i < WARMUP; i++) await round(false);
    const logMarks = setups.map((st) => st.proc().output().length);
    const metricsUrl = `${s.authnUrl}/metrics`;
    const reading = async () => ({
      auth: await histogram(metricsUrl, 'tollgate_authn_http_request_duration_seconds', ['method="GET"', 'route="/auth', 'status="200"']),
      authz: await histogram(metricsUrl, 'tollgate_authn_authz_call_duration_seconds', []),
    });
    const before = await reading();
    for (let i = 0; i < N; i++) await round(true);
    const after = await reading();
    setups.forEach((st, i) => {
      const lines = st.proc().output().slice(logMarks[i]).split('\n');
      st.requests = lines.filter((l) => /"(GET|HEAD) \/v2\/[^"]*" \d{3} /.test(l)).length / N;
    });
    const authnServerMs = meanMs(before.auth, after.auth);
    const authzCallMs = meanMs(before.authz, after.authz);
    const tokensPerPull = (after.auth.count - before.auth.count) / N;

    const probe = await runProbes(s, open, basic, creds.user);
    const load1 = loadavg()[0] ?? 0;

    const md = report({ setups, probe, authnServerMs, authzCallMs, tokensPerPull, load0, load1 });
    mkdirSync(join(OUT, '..'), { recursive: true });
    writeFileSync(OUT, md);
    process.stdout.write(`${md}\nwritten to ${OUT}\n`);
  } finally {
    fresh.destroy();
    pooled.destroy();
    await Promise.all([stack?.stop(), ...regs.map((r) => r.stop())]);
    t.cleanup();
  }
}

await main();
