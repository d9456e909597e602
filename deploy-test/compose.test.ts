/**
 * docker-compose.yml: valid against the Compose schema (dclint ships it and checks it), wired for
 * token auth, started in order authz → authn → registry through /readyz healthchecks, secrets
 * from files (never inline), data on named volumes, kompose labels for `kompose convert`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { run, ROOT, tempDir } from './helpers/run.js';

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  labels?: Record<string, string>;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
}
interface Compose {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

const DCLINT = join(ROOT, 'node_modules', 'dclint', 'bin', 'dclint.cjs');

interface LintResult {
  messages: Array<{ rule: string; type: string; message: string }>;
}
function lint(file: string): LintResult[] {
  const res = run(process.execPath, [DCLINT, '-f', 'json', file]);
  return JSON.parse(res.stdout) as LintResult[];
}

function flag(cmd: string[] | undefined, name: string): string | undefined {
  const i = cmd?.indexOf(name) ?? -1;
  return i >= 0 ? cmd?.[i + 1] : undefined;
}

describe('docker-compose.yml', () => {
  const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const compose = parse(text, { merge: true }) as Compose;
  const svc = (name: string): Service => {
    const s = compose.services[name];
    assert.ok(s, `service ${name} missing`);
    return s;
  };

  it('validates against the Compose schema with no dclint errors', () => {
    const errors = lint(join(ROOT, 'docker-compose.yml')).flatMap((r) => r.messages).filter((m) => m.type === 'error');
    assert.deepEqual(errors, []);
  });

  it('the schema check is live: an unknown service key is reported as invalid-schema', () => {
    const dir = tempDir('compose');
    try {
      const bad = join(dir.path, 'docker-compose.yml');
      writeFileSync(bad, text.replace('    secrets: [admin_token, client_token]\n', '    secrets: [admin_token, client_token]\n    restart_policy_typo: always\n'));
      const rules = lint(bad).flatMap((r) => r.messages).map((m) => m.rule);
      assert.ok(rules.includes('invalid-schema'), rules.join(', '));
    } finally {
      dir.remove();
    }
  });

  it('starts authz → authn → registry, each waiting for the previous one to be healthy', () => {
    assert.deepEqual(svc('authz').depends_on, undefined);
    assert.deepEqual(svc('authn').depends_on, { authz: { condition: 'service_healthy' } });
    assert.deepEqual(svc('registry').depends_on, { authn: { condition: 'service_healthy' } });
  });

  it('authz and authn healthchecks probe /readyz on the port each listens on', () => {
    for (const name of ['authz', 'authn']) {
      const port = flag(svc(name).command, '--listen')?.split(':')[1];
      assert.ok(port, `${name} --listen`);
      assert.ok(svc(name).healthcheck?.test.join(' ').includes(`http://127.0.0.1:${port}/readyz`), name);
    }
    const authzPort = flag(svc('authz').command, '--listen')?.split(':')[1];
    assert.equal(flag(svc('authn').command, '--authz-url'), `http://authz:${authzPort}`);
  });

  it('tokens and keys come from files in certs/ as compose secrets, never from inline values', () => {
    for (const [name, s] of Object.entries(compose.secrets)) {
      assert.match(s.file, /^\.\/certs\/[\w.-]+$/, name);
    }
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        assert.doesNotMatch(k, /TOKEN$|PASSWORD|SECRET/, `${name}: ${k}=${v} puts a secret in the environment`);
      }
      // Every file flag points at a mounted secret or a read-only bind mount.
      const mounted = [...(s.secrets ?? []).map((x) => `/run/secrets/${x}`), ...(s.volumes ?? []).map((v) => v.split(':')[1])];
      for (const f of ['--admin-token-file', '--client-token-file', '--authz-token-file', '--key', '--cert', '--users']) {
        const path = flag(s.command, f);
        if (path) assert.ok(mounted.includes(path), `${name} ${f} ${path} is not mounted`);
      }
    }
    const authzClient = flag(svc('authz').command, '--client-token-file');
    const authnClient = flag(svc('authn').command, '--authz-token-file');
    assert.equal(authzClient, authnClient, 'authn presents the same client token authz checks');
  });

  it('the registry verifies tokens with certs/bundle.pem, and agrees with authn on issuer and service', () => {
    const reg = svc('registry');
    const env = reg.environment ?? {};
    assert.equal(env.REGISTRY_AUTH, 'token');
    const bundle = env.REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE;
    assert.ok(reg.volumes?.includes(`./certs/bundle.pem:${bundle}:ro`));
    assert.equal(env.REGISTRY_AUTH_TOKEN_ISSUER, flag(svc('authn').command, '--issuer'));
    assert.equal(env.REGISTRY_AUTH_TOKEN_SERVICE, flag(svc('authn').command, '--service'));
    assert.match(env.REGISTRY_AUTH_TOKEN_REALM ?? '', /\/auth\}?$/);
  });

  it('keeps state on named volumes: the authz database and the registry storage', () => {
    const db = flag(svc('authz').command, '--db') ?? '';
    const authzVol = svc('authz').volumes?.find((v) => db.startsWith(`${v.split(':')[1]}/`));
    assert.ok(authzVol && (authzVol.split(':')[0] ?? '') in compose.volumes, `authz --db ${db} is not on a named volume`);
    assert.ok(svc('registry').volumes?.some((v) => v.startsWith('registry-data:/var/lib/registry')));
    assert.ok('registry-data' in compose.volumes);
  });

  it('every container is read-only with all capabilities dropped and no-new-privileges; the servers run as non-root', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      assert.equal(s.read_only, true, name);
      assert.deepEqual(s.cap_drop, ['ALL'], name);
      assert.ok(s.security_opt?.includes('no-new-privileges:true'), name);
    }
    assert.match(text, /user: "1000:1000"/);
  });

  it('carries kompose labels: a service type everywhere, a volume size where there is a volume', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      assert.match(s.labels?.['kompose.service.type'] ?? '', /^(clusterip|nodeport|loadbalancer|headless)$/, name);
      if ((s.volumes ?? []).some((v) => !v.startsWith('./'))) assert.match(s.labels?.['kompose.volume.size'] ?? '', /^\d+[GM]i$/, name);
    }
  });
});

describe('docker-compose.postgres.yml (authz on PostgreSQL)', () => {
  const over = parse(readFileSync(join(ROOT, 'docker-compose.postgres.yml'), 'utf8')) as Compose;
  const authz = over.services.authz as Service;

  it('validates against the Compose schema with no dclint errors', () => {
    const errors = lint(join(ROOT, 'docker-compose.postgres.yml')).flatMap((r) => r.messages).filter((m) => m.type === 'error');
    assert.deepEqual(errors, []);
  });

  it('authz waits for a healthy postgres and gets its password from a secret file, never inline', () => {
    assert.match(flag(authz.command, '--db') ?? '', /^postgres:\/\/tollgate@postgres:5432\/tollgate$/);
    assert.equal(flag(authz.command, '--db-password-file'), '/run/secrets/postgres_password');
    assert.deepEqual(authz.depends_on, { postgres: { condition: 'service_healthy' } });
    assert.equal(over.secrets.postgres_password?.file, './certs/postgres.password');
    const pg = over.services.postgres as Service & { environment: Record<string, string> };
    assert.equal(pg.environment.POSTGRES_PASSWORD_FILE, '/run/secrets/postgres_password');
    assert.equal(pg.environment.POSTGRES_PASSWORD, undefined);
  });
});
