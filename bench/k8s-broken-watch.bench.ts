/**
 * Secret watch against a misbehaving API server (issue 18: an empty-200 watch was re-opened 2,300 times a
 * second, 82 % of a core): the informer alone, default timings, against the SIMULATED API server in a child
 * process whose every watch misbehaves; counts the list and watch requests it received and the CPU this
 * process spent. Writes bench/results/k8s-broken-watch.md.
 *
 *   node --import tsx bench/k8s-broken-watch.bench.ts [--seconds 30] [--mode empty|error-after-200|hang|proxy-hold]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createLogger } from '../common/logger.js';
import { createK8sSecretsBackend } from '../authn-server/src/credentials/k8s-secrets/index.js';
import { helpIfAsked, numArg, strArg } from './args.js';

const SECONDS = numArg('seconds', 30, { min: 1, max: 300 });
const MODE = strArg('mode', 'empty', ['empty', 'error-after-200', 'hang', 'proxy-hold']);
helpIfAsked('node --import tsx bench/k8s-broken-watch.bench.ts [flags]: the Secret informer against a misbehaving watch');

const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'k8s-api-child.ts'), '100', MODE], { stdio: ['ignore', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
const first = String((await lines.next()).value ?? '');
const [, url, , token] = first.split(' ');
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, token!);
const backend = createK8sSecretsBackend({ conn: { baseUrl: new URL(url!), tokenFile }, logger: createLogger({ name: 'bench', level: 'silent' }) });
await backend.synced();
const cpu0 = process.cpuUsage();
const t0 = Date.now();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const cpu = process.cpuUsage(cpu0);
const elapsedS = (Date.now() - t0) / 1000;
const ready = backend.ready();
await backend.close();
child.kill('SIGTERM');
const [, lists, watches] = String((await lines.next()).value ?? '').split(' ').map(Number);
rmSync(dir, { recursive: true, force: true });

const cpuPct = ((cpu.user + cpu.system) / 1000 / (elapsedS * 1000)) * 100;
const md = [
  `# Secret watch against a broken API server (${MODE})`,
  '',
  `${new Date().toISOString()}, load average at end ${loadavg()[0]?.toFixed(2)}; ${SECONDS} s, default informer timings (stale-after 30 s, backoff 250 ms … 10 s, re-list every 3 failures).`,
  '',
  '| watch requests | per second | list requests | authn CPU | ready at the end |',
  '|---|---|---|---|---|',
  `| ${watches} | ${(watches! / elapsedS).toFixed(2)} | ${lists! - 1} | ${cpuPct.toFixed(2)} % | ${ready} |`,
  '',
].join('\n');
process.stdout.write(md);
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(resolve(import.meta.dirname, 'results', 'k8s-broken-watch.md'), md);
