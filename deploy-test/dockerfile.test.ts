/**
 * Dockerfile + .dockerignore, checked without a Docker engine: the build stage's COPY lines (filtered
 * by .dockerignore) are replayed into a temp dir and compiled with the same `npm run build` command,
 * the result runs, and the compiled code imports only production dependencies (the image prunes dev deps).
 */
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run, ROOT, tempDir } from './helpers/run.js';

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

  it('the build context it copies compiles with `npm run build`, runs, and imports only production dependencies', function () {
    this.timeout(60_000);
    const dir = tempDir('docker-build');
    try {
      for (const line of build?.lines.filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l)) ?? []) {
        const parts = line.split(/\s+/).slice(1);
        const dest = parts.pop() ?? '';
        for (const src of parts) {
          assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: not in the repo`);
          assert.ok(!isIgnored(src), `COPY ${src} is excluded by .dockerignore`);
          const target = dest.endsWith('/') ? join(dir.path, dest, src) : join(dir.path, dest);
          cpSync(join(ROOT, src), target, { recursive: true, filter: (p) => !isIgnored(relative(ROOT, p)) });
        }
      }
      symlinkSync(join(ROOT, 'node_modules'), join(dir.path, 'node_modules'));
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { build: string }; dependencies: Record<string, string> };
      const [tool, ...args] = pkg.scripts.build.split(' ');
      assert.equal(tool, 'tsc');
      const tsc = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), ...args], { cwd: dir.path });
      assert.equal(tsc.status, 0, `npm run build fails in the image: ${tsc.stdout}${tsc.stderr}`);

      const help = run(process.execPath, ['bin/tollgate.js', 'authz', 'serve', '--help'], { cwd: dir.path, env: { PATH: process.env.PATH } });
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /--admin-token-file/);

      const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
      const seen = new Set<string>();
      for (const file of walk(join(dir.path, 'dist')).filter((f) => f.endsWith('.js'))) {
        const src = readFileSync(file, 'utf8');
        const specs = [
          ...src.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]/gm),
          ...src.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
          ...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
        ].map((m) => m[1] ?? '');
        for (const spec of specs) {
          if (spec.startsWith('.') || spec.startsWith('node:')) continue;
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? '');
          assert.ok(allowed.has(name), `${relative(dir.path, file)} imports "${spec}", which is not a production dependency`);
          seen.add(name);
        }
      }
      // The scan saw the servers' real dependencies, so it is not passing vacuously.
      for (const dep of ['express', 'better-sqlite3', 'commander']) assert.ok(seen.has(dep), `no import of ${dep} found in dist/`);
    } finally {
      dir.remove();
    }
  });
});
