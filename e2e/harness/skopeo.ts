/**
 * skopeo and podman (both containers/image) with everything they write kept under a temp dir —
 * except skopeo's blob-info cache (`/var/lib/containers/cache` for root), which containers/image
 * offers no flag for; tests use unique image content so old cache entries never matter.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, type RunResult } from './procs.js';

export interface Creds {
  user: string;
  password: string;
}

const credFlag = (flag: string, c: Creds | undefined): string[] => (c ? [flag, `${c.user}:${c.password}`] : [flag === '--src-creds' ? '--src-no-creds' : '--dest-no-creds']);

export class Skopeo {
  constructor(private readonly home: string) {
    mkdirSync(home, { recursive: true });
    // An auth file of our own, so credentials from the machine's ~/.docker or /run never leak in.
    writeFileSync(join(home, 'auth.json'), '{}');
  }

  private env(): NodeJS.ProcessEnv {
    return { HOME: this.home, REGISTRY_AUTH_FILE: join(this.home, 'auth.json'), XDG_RUNTIME_DIR: this.home };
  }

  /** `skopeo copy oci:<layout>:<tag> docker://<ref>`. */
  push(layout: string, tag: string, ref: string, creds?: Creds): Promise<RunResult> {
    return run('skopeo', ['copy', '--dest-tls-verify=false', ...credFlag('--dest-creds', creds), `oci:${layout}:${tag}`, `docker://${ref}`], { env: this.env() });
  }

  /** `skopeo copy docker://<ref> oci:<out>:<tag>` (a fresh out dir each time). */
  pull(ref: string, out: string, creds?: Creds): Promise<RunResult> {
    mkdirSync(dirname(out), { recursive: true });
    return run('skopeo', ['copy', '--src-tls-verify=false', ...credFlag('--src-creds', creds), `docker://${ref}`, `oci:${out}:pulled`], { env: this.env() });
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
