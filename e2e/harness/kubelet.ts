/**
 * SIMULATED-KUBELET: runs the pods of rendered Deployments with docker the way a kubelet would — real
 * containers and real probes, no scheduler and no API server. What is reproduced (and so tested):
 *  - a pod = an infra container owning the network namespace (Service name as DNS alias on a docker
 *    network, so `http://tollgate-authz:5001` resolves as cluster DNS would); every container joins it;
 *  - image (unpullable names mapped to the images built here), command → entrypoint + args, args → cmd,
 *    `$(VAR)` expansion, env from value / ConfigMap / Secret keys, workingDir;
 *  - volumes: Secret and ConfigMap keys as read-only files (defaultMode/items, group fsGroup), projected
 *    volumes (a service-account token source gets an unsigned stand-in JWT), emptyDir
 *    (0777, or tmpfs for medium Memory), a PVC as a host directory owned by fsGroup with setgid (the
 *    kubelet's fsGroup ownership change), mountPath/subPath/readOnly;
 *  - securityContext (container over pod): runAsUser/runAsGroup, fsGroup as a supplementary group,
 *    runAsNonRoot refused for a root user, readOnlyRootFilesystem, capabilities, no-new-privileges;
 *    memory/CPU limits;
 *  - init containers one after another to exit 0, then the containers; readiness polled, liveness
 *    checked, httpGet (named or numbered port, 200–399) and exec probes.
 * Not reproduced: scheduling, Services' virtual IPs (the DNS name points at the pod
 * addresses from the start, ready or not), NetworkPolicy, PDBs.
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { K8sObject } from '../../deploy-test/helpers/k8s.js';
import { type Engine, http } from './engine.js';
import { sleep } from './procs.js';

export interface Pod {
  name: string;
  deployment: string;
  infra: string;
  ip: string;
  spec: NonNullable<NonNullable<IDeployment['spec']>['template']['spec']>;
  containers: Record<string, string>;
}

interface Data {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  binaryData?: Record<string, string>;
}

function keyValues(o: K8sObject & Data, secret: boolean): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(o.data ?? {})) out[k] = secret ? Buffer.from(v, 'base64') : Buffer.from(v);
  for (const [k, v] of Object.entries(o.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(o.stringData ?? {})) out[k] = Buffer.from(v);
  return out;
}

/** `$(VAR)` from the container's env; `$$(VAR)` stays literal; unknown references stay as written (kubelet rules). */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$(\$)?\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, esc: string | undefined, name: string) => (esc ? m.slice(1) : (env[name] ?? m)));
}

export class Kubelet {
  readonly pods: Pod[] = [];

  constructor(
    readonly engine: Engine,
    readonly dir: string,
    readonly objects: K8sObject[],
    readonly network: string,
    /** Image pull: a reference as written in the manifest → an image present in the engine. */
    readonly image: (ref: string) => string,
    readonly log: (line: string) => void = () => undefined,
  ) {}

  private obj(kind: string, name: string): K8sObject & Data {
    const o = this.objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`${kind}/${name} is referenced but not in the rendered objects or the rendered secrets`);
    return o as K8sObject & Data;
  }

  private value(kind: 'ConfigMap' | 'Secret', name: string, key: string): string {
    const v = keyValues(this.obj(kind, name), kind === 'Secret')[key];
    if (v === undefined) throw new Error(`${kind}/${name} has no key ${key}`);
    return v.toString();
  }

  private env(c: IContainer): Record<string, string> {
    const env: Record<string, string> = {};
    for (const from of c.envFrom ?? []) {
      const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
      const name = from.configMapRef?.name ?? from.secretRef?.name ?? '';
      for (const [k, v] of Object.entries(keyValues(this.obj(kind, name), kind === 'Secret'))) env[(from.prefix ?? '') + k] = v.toString();
    }
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sec = e.valueFrom?.secretKeyRef;
      if (cm) env[e.name] = this.value('ConfigMap', cm.name ?? '', cm.key);
      else if (sec) env[e.name] = this.value('Secret', sec.name ?? '', sec.key);
      else if (e.valueFrom) throw new Error(`env ${e.name}: valueFrom ${Object.keys(e.valueFrom).join()} is not simulated`);
      else env[e.name] = expand(e.value ?? '', env);
    }
    return env;
  }

  /** Volume name → host path (and whether it is a tmpfs), prepared as the kubelet would. */
  private volumes(pod: Pod): Map<string, { path?: string; tmpfs?: boolean }> {
    const fsGroup = pod.spec.securityContext?.fsGroup;
    const out = new Map<string, { path?: string; tmpfs?: boolean }>();
    for (const v of pod.spec.volumes ?? []) {
      const dir = join(this.dir, 'pods', pod.name, 'volumes', v.name);
      const src = v.secret ? { kind: 'Secret' as const, name: v.secret.secretName ?? '', items: v.secret.items, mode: v.secret.defaultMode }
        : v.configMap ? { kind: 'ConfigMap' as const, name: v.configMap.name ?? '', items: v.configMap.items, mode: v.configMap.defaultMode }
        : undefined;
      // A projected volume: its Secret/ConfigMap sources into one directory; a service-account token
      // source gets an unsigned stand-in JWT (no API server here to sign one).
      const sources = src ? [src] : (v.projected?.sources ?? []).map((p) => (p.secret ? { kind: 'Secret' as const, name: p.secret.name ?? '', items: p.secret.items, mode: v.projected?.defaultMode }
        : p.configMap ? { kind: 'ConfigMap' as const, name: p.configMap.name ?? '', items: p.configMap.items, mode: v.projected?.defaultMode }
        : p.serviceAccountToken ? { kind: 'Token' as const, name: '', items: [{ key: 'token', path: p.serviceAccountToken.path, mode: undefined }], mode: v.projected?.defaultMode }
        : undefined));
      if (sources.length && sources.every((x) => x !== undefined)) {
        mkdirSync(dir, { recursive: true });
        for (const x of sources) {
          if (!x) continue;
          const all = x.kind === 'Token' ? { token: Buffer.from(`${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: `system:serviceaccount:${pod.name}` })).toString('base64url')}.`) } : keyValues(this.obj(x.kind, x.name), x.kind === 'Secret');
          const items = x.items ?? Object.keys(all).map((key) => ({ key, path: key, mode: undefined }));
          for (const it of items) {
            const data = all[it.key];
            if (data === undefined) throw new Error(`${x.kind}/${x.name} has no key ${it.key}`);
            const file = join(dir, it.path);
            let mode = it.mode ?? x.mode ?? 0o644;
            writeFileSync(file, data);
            if (fsGroup !== undefined) {
              chownSync(file, 0, fsGroup);
              if (mode & 0o400) mode |= 0o040;
            }
            chmodSync(file, mode);
          }
        }
        out.set(v.name, { path: dir });
      } else if (v.emptyDir) {
        if (v.emptyDir.medium === 'Memory') out.set(v.name, { tmpfs: true });
        else {
          mkdirSync(dir, { recursive: true });
          chmodSync(dir, 0o777);
          out.set(v.name, { path: dir });
        }
      } else if (v.persistentVolumeClaim) {
        this.obj('PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
        const pv = join(this.dir, 'pv', v.persistentVolumeClaim.claimName);
        mkdirSync(pv, { recursive: true });
        if (fsGroup !== undefined) {
          chownSync(pv, 0, fsGroup);
          chmodSync(pv, 0o2775);
        }
        out.set(v.name, { path: pv });
      } else throw new Error(`volume ${v.name}: only secret, configMap, projected, emptyDir and persistentVolumeClaim are simulated`);
    }
    return out;
  }

  private async runArgs(pod: Pod, c: IContainer, vols: Map<string, { path?: string; tmpfs?: boolean }>): Promise<string[]> {
    const psc = pod.spec.securityContext ?? {};
    const sc = c.securityContext ?? {};
    const image = this.image(c.image ?? '');
    const imageUser = (await this.engine.inspect<{ Config: { User: string } }>(image)).Config.User;
    const uid = sc.runAsUser ?? psc.runAsUser;
    const gid = sc.runAsGroup ?? psc.runAsGroup;
    const user = uid !== undefined ? `${uid}${gid !== undefined ? `:${gid}` : ''}` : imageUser;
    if (sc.runAsNonRoot ?? psc.runAsNonRoot) {
      const u = (user || '0').split(':')[0] ?? '0';
      if (!/^\d+$/.test(u)) throw new Error(`${c.name}: runAsNonRoot and image user ${u} is not numeric (kubelet: cannot verify user is non-root)`);
      if (u === '0') throw new Error(`${c.name}: runAsNonRoot and the container would run as root (kubelet: CreateContainerConfigError)`);
    }
    const env = this.env(c);
    const args = ['run', '-d', '--name', `${pod.name}-${c.name}`, '--network', `container:${pod.infra}`, '--label', `tollgate.kubelet=${this.network}`];
    if (user) args.push('--user', user);
    if (psc.fsGroup !== undefined) args.push('--group-add', String(psc.fsGroup));
    for (const g of psc.supplementalGroups ?? []) args.push('--group-add', String(g));
    if (sc.readOnlyRootFilesystem) args.push('--read-only');
    if (sc.privileged) args.push('--privileged');
    for (const cap of sc.capabilities?.drop ?? []) args.push('--cap-drop', cap);
    for (const cap of sc.capabilities?.add ?? []) args.push('--cap-add', cap);
    if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
    const lim = c.resources?.limits ?? {};
    if (lim.memory !== undefined) args.push('--memory', String(lim.memory).replace(/i$/, '').toLowerCase());
    if (lim.cpu !== undefined) {
      const cpu = String(lim.cpu);
      args.push('--cpus', cpu.endsWith('m') ? String(Number(cpu.slice(0, -1)) / 1000) : cpu);
    }
    if (c.workingDir) args.push('-w', c.workingDir);
    for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
    for (const m of c.volumeMounts ?? []) {
      const v = vols.get(m.name);
      if (!v) throw new Error(`${c.name}: volumeMount ${m.name} names no volume of the pod`);
      if (v.tmpfs) args.push('--tmpfs', m.mountPath);
      else args.push('-v', `${join(v.path ?? '', m.subPath ?? '')}:${m.mountPath}${m.readOnly ? ':ro' : ''}`);
    }
    const cmd = (c.command ?? []).map((s) => expand(s, env));
    const rest = (c.args ?? []).map((s) => expand(s, env));
    if (cmd.length) args.push('--entrypoint', cmd[0] ?? '');
    args.push(image, ...cmd.slice(1), ...rest);
    return args;
  }

  private async docker(args: string[]): Promise<string> {
    const r = await this.engine.docker(args, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`docker ${args.slice(0, 3).join(' ')}…: ${r.out}`);
    return r.stdout.trim();
  }

  /** One pod of `d`: infra, init containers to completion, then the containers. */
  async startPod(d: IDeployment, index: number, publish: string[] = []): Promise<Pod> {
    const name = `${d.metadata?.name ?? 'pod'}-${index}`;
    const spec = d.spec?.template.spec;
    if (!spec) throw new Error(`${name}: no pod spec`);
    const svc = this.objects.filter((o) => o.kind === 'Service' && Object.entries((o as { spec?: { selector?: Record<string, string> } }).spec?.selector ?? {}).every(([k, v]) => d.spec?.template.metadata?.labels?.[k] === v));
    const ns = d.metadata?.namespace ?? 'default';
    const aliases = svc.flatMap((s) => [s.metadata.name, `${s.metadata.name}.${ns}`, `${s.metadata.name}.${ns}.svc`, `${s.metadata.name}.${ns}.svc.cluster.local`]);
    const infraArgs = ['run', '-d', '--name', `${name}-infra`, '--network', this.network, '--hostname', name, '--label', `tollgate.kubelet=${this.network}`,
      '--read-only', '--cap-drop', 'ALL', '--user', '65535:65535', ...aliases.flatMap((a) => ['--network-alias', a]), ...publish.flatMap((p) => ['-p', p]),
      '--entrypoint', 'sleep', this.engine.images.tollgate, 'infinity'];
    const infra = await this.docker(infraArgs);
    const ip = ((await this.engine.inspect<{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>(infra)).NetworkSettings.Networks[this.network]?.IPAddress) ?? '';
    const pod: Pod = { name, deployment: d.metadata?.name ?? '', infra, ip, spec, containers: {} };
    this.pods.push(pod);
    const vols = this.volumes(pod);
    for (const c of spec.initContainers ?? []) {
      const id = await this.docker(await this.runArgs(pod, c, vols));
      const code = (await this.engine.docker(['wait', id], { timeoutMs: 180_000 })).stdout.trim();
      const logs = (await this.engine.docker(['logs', '--tail', '5', id])).out.trim();
      this.log(`${name}: init container ${c.name} exited ${code}${logs ? ` (${logs.split('\n').length} log lines, last: ${logs.split('\n').at(-1)})` : ''}`);
      if (code !== '0') throw new Error(`${name}: init container ${c.name} exited ${code}: ${logs}`);
    }
    for (const c of spec.containers) pod.containers[c.name] = await this.docker(await this.runArgs(pod, c, vols));
    return pod;
  }

  /** Runs one probe once; true on success. */
  async probe(pod: Pod, c: IContainer, p: IProbe): Promise<{ ok: boolean; what: string }> {
    if (p.httpGet) {
      const port = typeof p.httpGet.port === 'number' ? p.httpGet.port : c.ports?.find((x) => x.name === p.httpGet?.port)?.containerPort;
      if (port === undefined) return { ok: false, what: `httpGet port ${String(p.httpGet.port)} is not a port of ${c.name}` };
      const url = `${p.httpGet.scheme === 'HTTPS' ? 'https' : 'http'}://${pod.ip}:${port}${p.httpGet.path ?? '/'}`;
      const r = await http(this.engine, url);
      return { ok: r.status >= 200 && r.status < 400, what: `GET ${p.httpGet.path} :${port} → ${r.status}` };
    }
    if (p.exec) {
      const r = await this.engine.docker(['exec', pod.containers[c.name] ?? '', ...(p.exec.command ?? [])]);
      return { ok: r.code === 0, what: `exec ${p.exec.command?.join(' ')} → ${r.code}` };
    }
    return { ok: false, what: 'only httpGet and exec probes are simulated' };
  }

  /** Polls each container's readiness probe until it passes, then checks its liveness probe once. */
  async waitReady(pod: Pod, timeoutMs = 90_000): Promise<string[]> {
    const seen: string[] = [];
    for (const c of pod.spec.containers) {
      for (const [kind, p] of [['readiness', c.readinessProbe], ['liveness', c.livenessProbe]] as const) {
        if (!p) throw new Error(`${pod.name}/${c.name} declares no ${kind} probe`);
        const end = Date.now() + timeoutMs;
        let r = await this.probe(pod, c, p);
        while (!r.ok && kind === 'readiness' && Date.now() < end) {
          const state = await this.engine.inspect<{ State: { Running: boolean; ExitCode: number } }>(pod.containers[c.name] ?? '');
          if (!state.State.Running) {
            const logs = (await this.engine.docker(['logs', '--tail', '20', pod.containers[c.name] ?? ''])).out;
            throw new Error(`${pod.name}/${c.name} exited ${state.State.ExitCode}:\n${logs}`);
          }
          await sleep(Math.min((p.periodSeconds ?? 10) * 1000, 1000));
          r = await this.probe(pod, c, p);
        }
        if (!r.ok) throw new Error(`${pod.name}/${c.name} ${kind} probe failed: ${r.what}`);
        seen.push(`${c.name} ${kind}: ${r.what}`);
      }
    }
    return seen;
  }

  async stopAll(): Promise<void> {
    const ids = (await this.engine.docker(['ps', '-aq', '--filter', `label=tollgate.kubelet=${this.network}`])).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await this.engine.docker(['rm', '-f', '-v', ...ids], { timeoutMs: 120_000 });
    this.pods.length = 0;
  }
}
