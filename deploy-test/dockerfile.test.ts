/**
 * Dockerfile + .dockerignore, checked without a Docker engine (none on this machine): statically, and by
 * replaying the stages in temp dirs — the build stage's COPY lines (filtered by .dockerignore), the same
 * `npm run build`, a node_modules holding only the lockfile's production packages (what `npm prune
 * --omit=dev` leaves), then only what the runtime stage copies, started with its ENV, ENTRYPOINT and CMD.
 * Not covered by the simulation: the base image itself, apt packages, file ownership (USER 1000).
 */
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run, ROOT, startProcess, tempDir, type Proc } from './helpers/run.js';

interface Stage {
  from: string;
  lines: string[];
}

function stages(text: string): Stage[] {
  const joined = text.replace(/\\\n/g, ' ');
  const out: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^FROM\s+(\S+)/i.exec(line);
    if (m?.[1]) out.push({ from: m[1], lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

/** .dockerignore patterns as regexes over context-relative paths (Go filepath.Match plus `**`). */
function ignoreMatchers(text: string): RegExp[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => {
      const re = p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\u0000/g, '(?:.*/)?');
      return new RegExp(`^${re}(?:/.*)?$`);
    });
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const all = stages(text);
  const build = all[0];
  const final = all.at(-1);
  const ignored = ignoreMatchers(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
  const isIgnored = (rel: string) => ignored.some((r) => r.test(rel));

  it('is multi-stage on Node 20 and the runtime stage runs `tollgate` as a non-root numeric user', () => {
    assert.ok(all.length >= 2);
    assert.match(text, /ARG NODE_IMAGE=node:20[-\w.]*/);
    const user = final?.lines.filter((l) => /^USER\s/i.test(l)).at(-1);
    assert.match(user ?? '', /^USER\s+[1-9]\d*(:[1-9]\d*)?$/);
    assert.ok(final?.lines.includes('ENTRYPOINT ["node", "/app/bin/tollgate.js"]'));
  });

  it('drops dev dependencies before the runtime stage copies node_modules', () => {
    assert.ok(build?.lines.some((l) => /npm ci\b/.test(l) && /npm prune --omit=dev/.test(l)));
    assert.ok(final?.lines.some((l) => /^COPY --from=build \/app\/node_modules/.test(l)));
    assert.ok(!final?.lines.some((l) => /\bnpm (ci|install)\b/.test(l)), 'no install in the runtime stage');
  });

  it('no secret can be baked in: certs/, .env files and data/ are outside the build context, and nothing copies the whole context', () => {
    for (const p of ['certs', 'certs/token.key', '.env', 'prod.env', 'data/authz.db', '.git', 'node_modules', 'dist']) {
      assert.ok(isIgnored(p), `.dockerignore must exclude ${p}`);
    }
    for (const st of all) {
      for (const l of st.lines.filter((x) => /^(COPY|ADD)\s/i.test(x) && !/--from=/.test(x))) {
        const srcs = l.split(/\s+/).slice(1, -1);
        assert.ok(!srcs.some((x) => x === '.' || x === './' || x.startsWith('certs')), `${l} copies the whole context or certs/`);
      }
      for (const l of st.lines.filter((x) => /^(ENV|ARG)\s/i.test(x))) assert.doesNotMatch(l, /TOKEN|PASSWORD|SECRET|KEY=/i, l);
    }
  });

  it('SIMULATED (no Docker engine): COPY replay + `npm run build` + production-only node_modules from package-lock (= npm ci --omit=dev); `tollgate --help` runs and both `serve` commands start and answer /readyz', async function () {
    this.timeout(240_000);
    const dir = tempDir('docker-build');
    const procs: Proc[] = [];
    try {
      // --- build stage: the COPY lines, filtered by .dockerignore, into <tmp>/build (= WORKDIR /app) ---
      const buildDir = join(dir.path, 'build');
      for (const line of build?.lines.filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l)) ?? []) {
        const parts = line.split(/\s+/).slice(1);
        const dest = parts.pop() ?? '';
        for (const src of parts) {
          assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: not in the repo`);
          assert.ok(!isIgnored(src), `COPY ${src} is excluded by .dockerignore`);
          const target = dest.endsWith('/') ? join(buildDir, dest, src) : join(buildDir, dest);
          cpSync(join(ROOT, src), target, { recursive: true, filter: (p) => !isIgnored(relative(ROOT, p)) });
        }
      }
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
      // `npm ci` builds dist/ through the `prepare` lifecycle script; nothing else in the Dockerfile does.
      assert.equal(pkg.scripts.prepare, 'npm run build', 'npm ci in the image relies on prepare = npm run build');
      // The build is `tsc … && node scripts/build-console.mjs` (the web console's bundle): run each step.
      const steps = (pkg.scripts.build ?? '').split(' && ').map((step) => step.split(' '));
      assert.deepEqual(steps.map(([tool]) => tool), ['tsc', 'node']);
      // tsc and esbuild need dev dependencies, exactly like the build stage before `npm prune`.
      symlinkSync(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'));
      for (const [tool, ...args] of steps) {
        const bin = tool === 'tsc' ? [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')] : [];
        const out = run(process.execPath, [...bin, ...args], { cwd: buildDir, timeoutMs: 180_000 });
        assert.equal(out.status, 0, `npm run build fails in the image (${tool}): ${out.stdout}${out.stderr}`);
      }
      assert.ok(existsSync(join(buildDir, 'dist', 'console', 'index.html')), 'the console is built into dist/console');
      unlinkSync(join(buildDir, 'node_modules'));

      // --- npm prune --omit=dev: only the lockfile's non-dev packages, each copied without its nested node_modules ---
      const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
      const prod = Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && !v.dev);
      for (const [k, v] of prod) {
        if (!existsSync(join(ROOT, k)) && v.optional) continue;
        cpSync(join(ROOT, k), join(buildDir, k), { recursive: true, filter: (p) => !relative(join(ROOT, k), p).startsWith('node_modules') });
      }
      for (const dev of ['typescript', 'mocha', 'tsx', 'kubernetes-models']) assert.ok(!existsSync(join(buildDir, 'node_modules', dev)), `${dev} survived the prune`);

      // --- runtime stage: only its COPY --from=build paths, into <tmp>/app; no node_modules above it ---
      const app = join(dir.path, 'app');
      for (const line of final?.lines.filter((l) => /^COPY --from=build\s/i.test(l)) ?? []) {
        const [, , src = '', dest = ''] = line.split(/\s+/);
        cpSync(join(buildDir, relative('/app', src)), join(app, relative('/app', dest.replace(/^\.\//, '/app/'))), { recursive: true });
      }
      assert.deepEqual(readdirSync(app).sort(), ['bin', 'dist', 'node_modules', 'package.json']);
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
      for (const l of final?.lines.filter((x) => /^ENV\s/i.test(x)) ?? []) {
        for (const m of l.slice(4).matchAll(/([A-Z_]+)=(\S+)/g)) env[m[1] ?? ''] = m[2];
      }
      assert.equal(env.NODE_ENV, 'production');
      const entry = JSON.parse(/^ENTRYPOINT\s+(\[.*\])$/m.exec(text)?.[1] ?? '[]') as string[];
      const cmd = JSON.parse(/^CMD\s+(\[.*\])$/m.exec(text)?.[1] ?? '[]') as string[];
      assert.equal(entry[0], 'node');
      const image = (extra: string[]) => [...entry.slice(1).map((a) => a.replace(/^\/app\//, `${app}/`)), ...extra];

      // docker run tollgate (default CMD)
      const help = run(process.execPath, image(cmd), { cwd: app, env });
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /authz\s/);
      assert.match(help.stdout, /authn\s/);

      // docker run tollgate authz serve … (the compose/k8s flags, paths moved into the temp dir)
      const secrets = join(dir.path, 'secrets');
      const gen = run('bash', [join(ROOT, 'scripts', 'gen-certs.sh'), '--out', secrets]);
      assert.equal(gen.status, 0, gen.stderr);
      writeFileSync(join(secrets, 'users.yaml'), 'users: {}\n');
      const url = (out: string) => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1];
      const authz = await startProcess(process.execPath, image(['authz', 'serve', '--listen', '127.0.0.1:0', '--db', join(dir.path, 'data', 'authz.db'),
        '--admin-token-file', join(secrets, 'admin.token'), '--client-token-file', join(secrets, 'client.token')]), url, { env, cwd: app });
      procs.push(authz.proc);
      assert.equal((await fetch(`${authz.value}/readyz`)).status, 200);

      const authn = await startProcess(process.execPath, image(['authn', 'serve', '--listen', '127.0.0.1:0', '--authz-url', authz.value,
        '--authz-token-file', join(secrets, 'client.token'), '--key', join(secrets, 'token.key'), '--cert', join(secrets, 'token.crt'),
        '--users', join(secrets, 'users.yaml')]), url, { env, cwd: app });
      procs.push(authn.proc);
      assert.equal((await fetch(`${authn.value}/readyz`)).status, 200);

      // The compiled code imports only production dependencies, including modules loaded lazily.
      const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
      const seen = new Set<string>();
      for (const file of walk(join(app, 'dist')).filter((f) => f.endsWith('.js'))) {
        const src = readFileSync(file, 'utf8');
        const specs = [
          ...src.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]/gm),
          ...src.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
          ...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
        ].map((m) => m[1] ?? '');
        for (const spec of specs) {
          if (spec.startsWith('.') || spec.startsWith('node:')) continue;
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? '');
          assert.ok(allowed.has(name), `${relative(app, file)} imports "${spec}", which is not a production dependency`);
          seen.add(name);
        }
      }
      // The scan saw the servers' real dependencies, so it is not passing vacuously.
      for (const dep of ['express', 'better-sqlite3', 'commander']) assert.ok(seen.has(dep), `no import of ${dep} found in dist/`);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
      dir.remove();
    }
  });
});
