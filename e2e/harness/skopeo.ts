/**
 * skopeo and podman (both containers/image) with everything they write kept under a temp dir.
 * skopeo's blob-info cache has no flag: as root it is always `/var/lib/containers/cache`. So, as
 * root, skopeo runs in a private mount namespace with that directory bind-mounted from the stack's
 * temp dir (shared by every skopeo home of the stack, as the machine's cache would be — the
 * cross-repository mount scenario relies on it). Without `unshare` it falls back to the real one;
 * tests use unique image content, so old cache entries never matter there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, type RunResult } from './procs.js';

export interface Creds {
  user: string;
  password: string;
}

const credFlag = (flag: string, c: Creds | undefined): string[] => (c ? [flag, `${c.user}:${c.password}`] : [flag === '--src-creds' ? '--src-no-creds' : '--dest-no-creds']);

const SYSTEM_CACHE = '/var/lib/containers/cache';
let canIsolate: boolean | undefined;
/** Root and a working `unshare --mount`: the only case where skopeo would write outside its home. */
export function isolationAvailable(): boolean {
  if (canIsolate === undefined) {
    canIsolate = process.getuid?.() === 0 && spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;
    if (canIsolate) mkdirSync(SYSTEM_CACHE, { recursive: true, mode: 0o700 });
  }
  return canIsolate;
}

export class Skopeo {
  private readonly cacheDir: string | undefined;

  /**
   * @param home per-client dir (auth file, HOME, XDG_RUNTIME_DIR)
   * @param opts.cacheDir blob-info cache (default: next to `home`, so shared by a stack's clients);
   *   `false` leaves skopeo on the machine's cache, as a user's skopeo would be (the benchmark).
   */
  constructor(
    private readonly home: string,
    opts: { cacheDir?: string | false } = {},
  ) {
    mkdirSync(home, { recursive: true });
    // An auth file of our own, so credentials from the machine's ~/.docker or /run never leak in.
    writeFileSync(join(home, 'auth.json'), '{}');
    this.cacheDir = opts.cacheDir === false ? undefined : (opts.cacheDir ?? join(dirname(home), 'blob-info-cache'));
  }

  private env(): NodeJS.ProcessEnv {
    return { HOME: this.home, REGISTRY_AUTH_FILE: join(this.home, 'auth.json'), XDG_RUNTIME_DIR: this.home };
  }

  /** Runs skopeo, inside a mount namespace that puts the blob-info cache in `cacheDir` when that is possible. */
  skopeo(args: string[]): Promise<RunResult> {
    if (!this.cacheDir || !isolationAvailable()) return run('skopeo', args, { env: this.env() });
    if (!existsSync(this.cacheDir)) mkdirSync(this.cacheDir, { recursive: true, mode: 0o700 });
    const script = 'mount --bind "$1" "$2" && shift 2 && exec skopeo "$@"';
    return run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', this.cacheDir, SYSTEM_CACHE, ...args], { env: this.env() });
  }

  /** `skopeo copy oci:<layout>:<tag> docker://<ref>`. */
  push(layout: string, tag: string, ref: string, creds?: Creds): Promise<RunResult> {
    return this.skopeo(['copy', '--dest-tls-verify=false', ...credFlag('--dest-creds', creds), `oci:${layout}:${tag}`, `docker://${ref}`]);
  }

  /** `skopeo copy docker://<ref> oci:<out>:<tag>` (a fresh out dir each time). */
  pull(ref: string, out: string, creds?: Creds): Promise<RunResult> {
    mkdirSync(dirname(out), { recursive: true });
    return this.skopeo(['copy', '--src-tls-verify=false', ...credFlag('--src-creds', creds), `docker://${ref}`, `oci:${out}:pulled`]);
  }
}

/** podman with vfs storage, its own auth file, config and runtime dirs under `home`. */
export class Podman {
  private readonly envVars: NodeJS.ProcessEnv;

  constructor(private readonly home: string) {
    const graph = join(home, 'storage');
    const runroot = join(home, 'run');
    mkdirSync(graph, { recursive: true });
    mkdirSync(runroot, { recursive: true });
    const storageConf = join(home, 'storage.conf');
    writeFileSync(storageConf, `[storage]\ndriver = "vfs"\ngraphroot = "${graph}"\nrunroot = "${runroot}"\n`);
    const containersConf = join(home, 'containers.conf');
    writeFileSync(containersConf, `[engine]\nevents_logger = "file"\nevents_logfile_path = "${join(home, 'events.log')}"\ntmp_dir = "${join(home, 'tmp')}"\nvolume_path = "${join(home, 'volumes')}"\n`);
    writeFileSync(join(home, 'auth.json'), '{}');
    this.envVars = {
      HOME: home,
      CONTAINERS_STORAGE_CONF: storageConf,
      CONTAINERS_CONF: containersConf,
      REGISTRY_AUTH_FILE: join(home, 'auth.json'),
      XDG_RUNTIME_DIR: runroot,
    };
  }

  podman(args: string[]): Promise<RunResult> {
    return run('podman', ['--root', join(this.home, 'storage'), '--runroot', join(this.home, 'run'), ...args], { env: this.envVars });
  }

  pull(ref: string, creds: Creds): Promise<RunResult> {
    return this.podman(['pull', '--tls-verify=false', '--creds', `${creds.user}:${creds.password}`, ref]);
  }

  push(local: string, ref: string, creds: Creds): Promise<RunResult> {
    return this.podman(['push', '--tls-verify=false', '--creds', `${creds.user}:${creds.password}`, local, ref]);
  }
}
