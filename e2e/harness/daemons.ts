/**
 * containerd (+ `ctr`) and dockerd (+ the docker CLI), each with root/state/socket under a temp dir.
 * containerd runs with the CRI plugin disabled (no Kubernetes here); dockerd runs on our containerd
 * with no networking, no iptables and vfs storage, since all it does is pull and push.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Proc, run, type RunResult } from './procs.js';
import type { Creds } from './skopeo.js';

export class Containerd {
  readonly socket: string;
  private constructor(
    readonly dir: string,
    readonly proc: Proc,
  ) {
    this.socket = join(dir, 'containerd.sock');
  }

  static async start(dir: string): Promise<Containerd> {
    mkdirSync(dir, { recursive: true });
    const socket = join(dir, 'containerd.sock');
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${join(dir, 'root')}"`,
        `state = "${join(dir, 'state')}"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${socket}"`,
        '[ttrpc]',
        `  address = "${socket}.ttrpc"`,
        '[debug]',
        `  address = "${join(dir, 'debug.sock')}"`,
        '[metrics]',
        '  address = ""',
        '',
      ].join('\n'),
    );
    const proc = new Proc({ name: 'containerd', cmd: 'containerd', args: ['--config', config], logFile: join(dir, 'containerd.log') });
    const c = new Containerd(dir, proc);
    try {
      await proc.waitFor((out) => out.includes('containerd successfully booted'), 'containerd boot', 30000);
    } catch (e) {
      await proc.stop();
      throw e;
    }
    return c;
  }

  ctr(args: string[]): Promise<RunResult> {
    return run('ctr', ['-a', this.socket, '-n', 'e2e', ...args]);
  }

  pull(ref: string, creds: Creds): Promise<RunResult> {
    return this.ctr(['images', 'pull', '--plain-http', '--user', `${creds.user}:${creds.password}`, '--snapshotter', 'native', ref]);
  }

  push(ref: string, creds: Creds, local?: string): Promise<RunResult> {
    return this.ctr(['images', 'push', '--plain-http', '--user', `${creds.user}:${creds.password}`, ref, ...(local ? [local] : [])]);
  }

  stop(): Promise<number | null> {
    return this.proc.stop();
  }
}

export class Dockerd {
  readonly host: string;
  readonly config: string;
  private constructor(
    readonly dir: string,
    readonly proc: Proc,
  ) {
    this.host = `unix://${join(dir, 'docker.sock')}`;
    this.config = join(dir, 'client');
  }

  /** Starts dockerd on an already running containerd and waits for the API to answer. */
  static async start(dir: string, containerd: Containerd): Promise<Dockerd> {
    mkdirSync(join(dir, 'client'), { recursive: true });
    // An empty client config: no credential helper, so `docker login` stores into this file.
    writeFileSync(join(dir, 'client', 'config.json'), '{}');
    const args = [
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'docker.pid'),
      '-H', `unix://${join(dir, 'docker.sock')}`,
      '--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver=vfs',
      '--containerd', containerd.socket,
      '--containerd-namespace', 'e2e-docker', '--containerd-plugins-namespace', 'e2e-docker-plugins',
    ];
    const proc = new Proc({ name: 'dockerd', cmd: 'dockerd', args, logFile: join(dir, 'dockerd.log') });
    const d = new Dockerd(dir, proc);
    try {
      await proc.waitFor((out) => out.includes('API listen on'), 'dockerd API', 60000);
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  docker(args: string[], input?: string): Promise<RunResult> {
    return run('docker', args, { env: { DOCKER_HOST: this.host, DOCKER_CONFIG: this.config }, ...(input === undefined ? {} : { input }) });
  }

  login(server: string, creds: Creds): Promise<RunResult> {
    return this.docker(['login', '--username', creds.user, '--password-stdin', server], creds.password);
  }

  /** Stops dockerd, then lazily unmounts anything it left mounted under its dir (it bind-mounts its data root). */
  async stop(): Promise<number | null> {
    const code = await this.proc.stop(20000);
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(`${this.dir}/`))
      .sort()
      .reverse();
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    return code;
  }
}
