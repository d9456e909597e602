/**
 * One private Docker engine for the whole deployment suite (compose, kubelet-style, upgrade), started
 * on first use and removed, data root included, when the test run ends:
 *  1. build: scripts/dockerd.sh on the host network (no bridge) runs scripts/build-images.sh once —
 *     tollgate:dev and, where Docker Hub is out of reach, the Debian-built bases and registry image;
 *  2. run: the same data root served by an engine in a network namespace of its own, where compose
 *     networks, container addresses and published ports live, away from the host's interfaces and from
 *     other engines. Client commands (curl, skopeo, the scripts) reach them through `inNet` (nsenter).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, type RunResult } from './procs.js';

const SCRIPT = join(ROOT, 'scripts', 'dockerd.sh');

export interface Images {
  tollgate: string;
  registry: string;
  node: string;
}

export class Engine {
  readonly host: string;
  constructor(
    readonly dir: string,
    readonly images: Images,
    readonly buildSeconds: number,
  ) {
    this.host = `unix://${join(dir, 'docker.sock')}`;
  }

  get pid(): number {
    return Number(readFileSync(join(this.dir, 'dockerd.pid'), 'utf8').trim());
  }

  get storageDriver(): string {
    return readFileSync(join(this.dir, 'driver'), 'utf8').trim();
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, 'client'), ...extra };
  }

  docker(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return run('docker', args, { ...opts, env: this.env(opts.env) });
  }

  /** A command inside the engine's network namespace, where the published ports are. */
  inNet(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return run('nsenter', [`--net=/proc/${this.pid}/ns/net`, cmd, ...args], { ...opts, env: this.env(opts.env) });
  }

  /** `docker inspect` of one object, parsed. */
  async inspect<T = Record<string, unknown>>(name: string): Promise<T> {
    const r = await this.docker(['inspect', name]);
    if (r.code !== 0) throw new Error(`docker inspect ${name}: ${r.out}`);
    return (JSON.parse(r.stdout) as T[])[0] as T;
  }
}

/** HTTP from inside the engine's network with curl: status and body. */
export async function http(e: Engine, url: string, opts: { method?: string; user?: string; bearer?: string; json?: unknown } = {}): Promise<{ status: number; body: string }> {
  const args = ['-s', '-m', '10', '-o', '-', '-w', '\n%{http_code}', '-X', opts.method ?? 'GET'];
  if (opts.user) args.push('-u', opts.user);
  if (opts.bearer) args.push('-H', `Authorization: Bearer ${opts.bearer}`);
  if (opts.json !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', '@-');
  const r = await e.inNet('curl', [...args, url], { input: opts.json === undefined ? '' : JSON.stringify(opts.json) });
  const cut = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(cut + 1)) || 0, body: r.stdout.slice(0, cut) };
}

let shared: Promise<Engine> | undefined;
let dir: string | undefined;

/** At process exit (a run that never reached the root hook): synchronous, best effort. */
function stopEngineSync(): void {
  if (!dir) return;
  spawnSync('bash', [SCRIPT, 'stop', dir, '--purge'], { stdio: 'ignore', timeout: 300_000 });
  dir = undefined;
}

/** The suite's engine with its images built (once per test run). */
export function sharedEngine(): Promise<Engine> {
  shared ??= (async () => {
    dir = mkdtempSync(join(process.env.TOLLGATE_ENGINE_TMP ?? '/var/tmp', 'tollgate-engine-'));
    process.once('exit', stopEngineSync);
    writeFileSync(join(dir, 'build.log'), '');
    const started = Date.now();
    const buildEngine = await run('bash', [SCRIPT, 'start', dir]);
    if (buildEngine.code !== 0) throw new Error(`dockerd (build) did not start: ${buildEngine.out}`);
    const env = { DOCKER_HOST: `unix://${join(dir, 'docker.sock')}`, TOLLGATE_BUILD_LOG: join(dir, 'build.log') };
    const built = await run('bash', [join(ROOT, 'scripts', 'build-images.sh')], { env, timeoutMs: 1_500_000 });
    if (built.code !== 0) throw new Error(`scripts/build-images.sh failed:\n${built.stderr}\n${readFileSync(join(dir, 'build.log'), 'utf8').slice(-4000)}`);
    process.stdout.write(`      [deploy] ${built.stderr.trim().split('\n').filter((l) => /ready in|loaded|cannot be pulled|trusts/.test(l)).join('\n      [deploy] ')}\n`);
    const value = (k: string) => new RegExp(`^${k}=(.+)$`, 'm').exec(built.stdout)?.[1] ?? '';
    const images: Images = { tollgate: value('TOLLGATE_IMAGE'), registry: value('REGISTRY_IMAGE'), node: value('NODE_IMAGE') };
    const stopped = await run('bash', [SCRIPT, 'stop', dir]);
    if (stopped.code !== 0) throw new Error(`dockerd (build) did not stop: ${stopped.out}`);
    const iso = await run('bash', [SCRIPT, 'start', dir, readFileSync(join(dir, 'driver'), 'utf8').trim(), '--isolated']);
    if (iso.code !== 0) throw new Error(`dockerd (isolated) did not start: ${iso.out}`);
    const engine = new Engine(dir, images, Math.round((Date.now() - started) / 1000));
    process.stdout.write(`      [deploy] engine (${engine.storageDriver}) with images ready after ${engine.buildSeconds} s\n`);
    return engine;
  })();
  return shared;
}

// A root-level hook: runs once after every test file of the run, whichever of them used the engine.
after(async function () {
  this.timeout(600_000);
  if (!dir) return;
  const started = Date.now();
  const r = await run('bash', [SCRIPT, 'stop', dir, '--purge'], { timeoutMs: 590_000 });
  dir = undefined;
  process.stdout.write(`      [deploy] engine stopped and its data root removed in ${Math.round((Date.now() - started) / 1000)} s${r.code === 0 ? '' : `: ${r.out}`}\n`);
});
