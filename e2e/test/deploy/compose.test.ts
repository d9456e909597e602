/**
 * docker-compose.yml for real: the image built from the Dockerfile, the registry image, Compose v2 and a
 * private dockerd (e2e/harness/engine.ts). Order of start from the containers' own timestamps, push and
 * pull through the composed registry, authz restarted under load, state across down/up, backup/restore,
 * and the hardening `docker inspect` shows. The tests share one stack, in order.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ComposeProject } from '../../harness/compose.js';
import { sharedEngine } from '../../harness/engine.js';
import { requireBins, REGISTRY_DENIED } from '../../harness/fixture.js';
import { ROOT, tempDir } from '../../harness/procs.js';

interface Inspect {
  Id: string;
  RestartCount: number;
  Config: { User: string };
  State: { StartedAt: string; Pid: number; Health?: { Status: string; Log: Array<{ End: string; ExitCode: number }> } };
  HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[] | null; CapAdd: string[] | null; SecurityOpt: string[] | null; Privileged: boolean };
}

const firstHealthy = (i: Inspect): number => {
  const ok = i.State.Health?.Log.filter((l) => l.ExitCode === 0).map((l) => Date.parse(l.End)) ?? [];
  assert.ok(ok.length, 'no successful healthcheck recorded');
  return Math.min(...ok);
};

describe('deploy: docker compose with real containers', function () {
  this.timeout(300_000);
  const t = tempDir('tollgate-compose-');
  let p: ComposeProject;
  const inspect = async (service: string) => p.engine.inspect<Inspect>(await p.container(service));

  before(async function () {
    this.timeout(1_800_000);
    requireBins(this, ['dockerd', 'docker', 'skopeo', 'curl', 'nsenter']);
    const engine = await sharedEngine();
    p = await ComposeProject.create(engine, join(t.dir, 'checkout'));
  });
  after(async function () {
    await p?.compose(['down', '--volumes', '--timeout', '5']);
    t.cleanup();
  });

  it('`docker compose up -d`: authz healthy before authn starts, authn healthy before the registry starts, all healthy', async () => {
    await p.up();
    const [authz, authn, registry] = await Promise.all(['authz', 'authn', 'registry'].map(inspect)) as [Inspect, Inspect, Inspect];
    assert.ok(firstHealthy(authz) <= Date.parse(authn.State.StartedAt), 'authn started before authz was healthy');
    assert.ok(firstHealthy(authn) <= Date.parse(registry.State.StartedAt), 'the registry started before authn was healthy');
    const ps = await p.compose(['ps', '--format', '{{.Service}} {{.Health}}']);
    assert.deepEqual(ps.stdout.trim().split('\n').sort(), ['authn healthy', 'authz healthy', 'registry healthy']);
  });

  it('skopeo pushes and pulls through the composed registry with a users-file account; another account is denied', async () => {
    await p.seed();
    const img = p.image('app');
    const pushed = await p.push(img, 'team-a/app:v1', p.creds('alice'));
    assert.equal(pushed.code, 0, pushed.out);
    const pulled = await p.pull('team-a/app:v1', p.creds('alice'));
    assert.equal(pulled.code, 0, pulled.out);
    const denied = await p.pull('team-a/app:v1', p.creds('bob'));
    assert.notEqual(denied.code, 0);
    assert.match(denied.out, REGISTRY_DENIED);
  });

  it('`docker compose restart authz`: 503 during the gap, never a token with access; healthy again after; no restart loop', async () => {
    const scope = 'repository:team-a/app:pull';
    // Deterministic part: while authz is stopped every token request is refused with 503.
    const stop = await p.compose(['stop', 'authz']);
    assert.equal(stop.code, 0, stop.out);
    for (let i = 0; i < 3; i++) {
      const r = await p.token('alice', scope);
      assert.equal(r.status, 503, r.body);
      assert.doesNotMatch(r.body, /"token"/);
    }
    assert.equal((await p.compose(['start', 'authz'])).code, 0);
    // Then a real restart under a request loop: each answer is a token or a 503, nothing else.
    const statuses: number[] = [];
    const refused: number[] = [];
    let done = false;
    const loop = (async () => {
      while (!done) {
        const r = await p.token('alice', scope);
        statuses.push(r.status);
        if (r.status === 503) refused.push(Date.now());
        if (r.status === 200) assert.match(r.body, /"token"/);
        else assert.equal(r.status, 503, `during the restart: ${r.status} ${r.body}`);
      }
    })();
    const restart = await p.compose(['restart', 'authz']);
    done = true;
    await loop;
    assert.equal(restart.code, 0, restart.out);
    const deadline = Date.now() + 60_000;
    let last = await p.token('alice', scope);
    while (last.status !== 200 && Date.now() < deadline) last = await p.token('alice', scope);
    assert.equal(last.status, 200, `no token after authz came back: ${last.body}`);
    const access = JSON.parse(Buffer.from((JSON.parse(last.body) as { token: string }).token.split('.')[1] ?? '', 'base64url').toString()) as { access: unknown };
    assert.deepEqual(access.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }]);
    for (const s of ['authz', 'authn', 'registry']) assert.equal((await inspect(s)).RestartCount, 0, `${s} restarted by docker`);
    const window = refused.length ? ((Math.max(...refused) - Math.min(...refused)) / 1000).toFixed(1) : '0';
    process.stdout.write(`      [deploy] token requests during \`compose restart authz\`: ${statuses.length}, ${refused.length} × 503 over ${window} s, the rest 200\n`);
  });

  it('recreating authn (`up -d --force-recreate authn`): what token requests see, measured (docs/deploy.md: no zero-downtime port hand-off in compose)', async () => {
    const scope = 'repository:team-a/app:pull';
    const seen = new Map<string, number>();
    const failed: number[] = [];
    let done = false;
    const loop = (async () => {
      while (!done) {
        const r = await p.token('alice', scope);
        const k = r.status === 0 ? 'no connection' : String(r.status);
        seen.set(k, (seen.get(k) ?? 0) + 1);
        if (r.status !== 200) failed.push(Date.now());
        else assert.match(r.body, /"token"/);
      }
    })();
    const up = await p.compose(['up', '-d', '--no-deps', '--force-recreate', '--wait', 'authn']);
    done = true;
    await loop;
    assert.equal(up.code, 0, up.out);
    assert.equal((await p.token('alice', scope)).status, 200);
    const gap = failed.length ? ((Math.max(...failed) - Math.min(...failed)) / 1000).toFixed(1) : '0';
    process.stdout.write(`      [deploy] token requests while compose recreated authn: ${[...seen].map(([k, v]) => `${v} × ${k}`).join(', ')}; failures over ${gap} s\n`);
  });

  it('`docker compose down` then `up`: roles, bindings and pushed images are still there; backup.sh/restore.sh round-trip the store', async () => {
    const before = await p.exported();
    assert.equal((await p.compose(['down', '--timeout', '5'])).code, 0);
    await p.up();
    assert.deepEqual(await p.exported(), before);
    const pulled = await p.pull('team-a/app:v1', p.creds('alice'));
    assert.equal(pulled.code, 0, pulled.out);

    const env = { TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE: join(p.dir, 'certs', 'admin.token') };
    const file = join(p.dir, 'backup.json');
    const backup = await p.engine.inNet('bash', [join(ROOT, 'scripts', 'backup.sh'), '--out', file], { env });
    assert.equal(backup.code, 0, backup.out);
    // Change the store, restore, and the export is the backup again.
    assert.equal((await p.admin('/delete-role-binding', { account_name: 'bob', role_name: 'ns-rw', namespace: 'team-b' })).status, 200);
    const saved = (): unknown => {
      const { exported_at: _, ...rest } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      return rest;
    };
    assert.deepEqual(saved(), before);
    assert.notDeepEqual(await p.exported(), saved());
    const restore = await p.engine.inNet('bash', [join(ROOT, 'scripts', 'restore.sh'), file], { env });
    assert.equal(restore.code, 0, restore.out);
    assert.deepEqual(await p.exported(), saved());
  });

  it('containers run as uid 1000 (registry as documented: its image user, no capabilities), read-only, all capabilities dropped', async () => {
    for (const s of ['authz', 'authn', 'registry']) {
      const i = await inspect(s);
      assert.equal(i.HostConfig.ReadonlyRootfs, true, s);
      assert.deepEqual(i.HostConfig.CapDrop, ['ALL'], s);
      assert.ok(!i.HostConfig.CapAdd?.length && !i.HostConfig.Privileged, s);
      assert.ok(i.HostConfig.SecurityOpt?.includes('no-new-privileges:true'), s);
      // What the kernel says about the container's main process, not just the configuration.
      const status = readFileSync(`/proc/${i.State.Pid}/status`, 'utf8');
      const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      assert.equal(/^CapEff:\s+(\w+)/m.exec(status)?.[1], '0000000000000000', `${s} has effective capabilities`);
      if (s === 'registry') assert.equal(uid, '0', 'registry: the image user (root without capabilities), docs/deploy.md §3');
      else {
        assert.equal(i.Config.User, '1000:1000', s);
        assert.equal(uid, '1000', s);
      }
      const write = await p.engine.docker(['exec', i.Id, 'sh', '-c', 'echo x > /probe']);
      assert.notEqual(write.code, 0, `${s}: root filesystem is writable`);
      assert.match(write.out, /Read-only file system/);
    }
  });
});
