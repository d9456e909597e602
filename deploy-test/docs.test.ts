/**
 * The operator docs (docs/deploy.md, docs/kompose.md, docs/workload-identity.md, certs/README.md) are true to the code: every
 * `tollgate …` and `scripts/*.sh …` command uses subcommands and flags that exist, the script reference
 * tables list exactly the scripts' options, the variables and values tables match docker-compose.yml
 * and the rendered k8s settings, the defaults quoted are the CLI's, and every link lands on a heading.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { find, render } from './helpers/k8s.js';
import { run, ROOT } from './helpers/run.js';

const DOCS = ['docs/deploy.md', 'docs/kompose.md', 'docs/workload-identity.md', 'docs/namespace-credentials.md', 'certs/README.md'];
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

const helpCache = new Map<string, string>();
/** `tollgate <path…> --help` from the sources (not a possibly stale dist/). */
function tollgateHelp(path: string[]): string {
  const key = path.join(' ');
  const cached = helpCache.get(key);
  if (cached !== undefined) return cached;
  const res = run(process.execPath, ['--import', 'tsx', 'cli/tollgate.ts', ...path, '--help'], { env: { PATH: process.env.PATH } });
  assert.equal(res.status, 0, `tollgate ${key} --help: ${res.stderr}`);
  helpCache.set(key, res.stdout);
  return res.stdout;
}

function scriptHelp(script: string): string {
  const key = `script:${script}`;
  const cached = helpCache.get(key);
  if (cached !== undefined) return cached;
  const file = join(ROOT, 'scripts', script);
  assert.ok(existsSync(file), `scripts/${script} does not exist`);
  // ext_authz.sh takes no options; its contract is its environment, documented in its header.
  const text = script === 'ext_authz.sh' ? read(`scripts/${script}`) : run('bash', [file, '--help']).stdout;
  helpCache.set(key, text);
  return text;
}

function subcommands(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1] ?? '');
}

const flagsIn = (text: string) => [...text.matchAll(/(?<![\w-])--[a-z0-9][a-z0-9-]*/g)].map((m) => m[0]);

/** Code-block lines (backslash continuations joined) and inline code spans of a Markdown text. */
function codeSnippets(md: string): string[] {
  const out: string[] = [];
  const blocks = [...md.matchAll(/```[a-z]*\n([\s\S]*?)```/g)];
  for (const b of blocks) out.push(...(b[1] ?? '').replace(/\\\n\s*/g, ' ').split('\n'));
  const prose = md.replace(/```[a-z]*\n[\s\S]*?```/g, '');
  for (const m of prose.matchAll(/`([^`\n]+)`/g)) out.push(m[1] ?? '');
  return out;
}

/** Shell segments of a snippet: split on pipes, &&, ;, & and comments. */
const segments = (line: string) => line.replace(/\s#.*$/, '').split(/\|\||&&|[|;&]|\$\(|<\(/).map((s) => s.trim()).filter(Boolean);

/** GitHub's heading anchor. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

describe('operator docs match the scripts, the CLI, docker-compose.yml and k8s/', () => {
  const snippets = DOCS.flatMap((f) => codeSnippets(read(f)).map((s) => ({ f, s })));

  before(function () {
    // Each `--help` starts the CLI through tsx (seconds on a loaded machine): collect them once, up front.
    this.timeout(300_000);
    for (const p of ['', 'authz', 'authz serve', 'authn', 'authn serve', 'keys', 'keys generate', 'keys bundle', 'hash-password', 'import', 'export']) {
      tollgateHelp(p ? p.split(' ') : []);
    }
  });

  it('every `tollgate …` command names existing subcommands and only flags that command has', () => {
    let checked = 0;
    for (const { f, s } of snippets) {
      for (const seg of segments(s)) {
        const words = seg.split(/\s+/);
        const at = words.findIndex((w, i) => w === 'tollgate' && (i === 0 || words[i - 1] === 'npx'));
        if (at < 0 || words.length === at + 1) continue; // the namespace `tollgate`, not a command
        const path: string[] = [];
        let i = at + 1;
        while (i < words.length && subcommands(tollgateHelp(path)).includes(words[i] ?? '')) path.push(words[i++] ?? '');
        assert.ok(path.length > 0, `${f}: "${seg}" names no tollgate command`);
        const help = tollgateHelp(path);
        for (const flag of flagsIn(words.slice(i).join(' '))) {
          assert.ok(flagsIn(help).includes(flag), `${f}: "${seg}": tollgate ${path.join(' ')} has no ${flag}`);
        }
        checked++;
      }
    }
    assert.ok(checked >= 8, `only ${checked} tollgate commands found`);
  });

  it('every `scripts/*.sh …` command uses only options the script accepts', () => {
    let checked = 0;
    for (const { f, s } of snippets) {
      for (const seg of segments(s)) {
        const m = /(?:^|\s|\/)scripts\/([\w-]+\.sh)\b(.*)$/.exec(seg);
        if (!m) continue;
        const help = scriptHelp(m[1] ?? '');
        for (const flag of flagsIn(m[2] ?? '')) assert.ok(flagsIn(help).includes(flag), `${f}: "${seg}": scripts/${m[1]} has no ${flag}`);
        checked++;
      }
    }
    assert.ok(checked >= 15, `only ${checked} script commands found`);
  });

  it('every flag quoted on its own (`--flag`) exists in the CLI or a script', () => {
    // Flags of other programs the docs quote on their own: curl's (ext_authz), kompose's (kompose.md), the kubelet's (workload-identity.md), dockerd's (deploy.md).
    const external = ['--data-binary', '--volumes', '--build', '--image-credential-provider-bin-dir', '--image-credential-provider-config', '--iptables'];
    const known = new Set([
      ...external,
      ...['authz serve', 'authn serve', 'keys generate', 'keys bundle', 'hash-password', 'import', 'export', 'credential-provider'].flatMap((p) => flagsIn(tollgateHelp(p.split(' ')))),
      ...['gen-certs.sh', 'k8s-deploy.sh', 'backup.sh', 'restore.sh', 'build-credential-provider.sh', 'build-images.sh', 'dockerd.sh'].flatMap((sc) => flagsIn(scriptHelp(sc))),
    ]);
    for (const { f, s } of snippets.filter((x) => x.s.startsWith('--'))) {
      for (const flag of flagsIn(s)) assert.ok(known.has(flag), `${f}: \`${s}\`: no command has ${flag}`);
    }
  });

  it('the script reference tables list exactly the options each script accepts', () => {
    const doc = read('docs/deploy.md');
    for (const script of ['gen-certs.sh', 'k8s-deploy.sh']) {
      const section = doc.split(`### \`scripts/${script}\``)[1]?.split(/\n###? /)[0] ?? '';
      const documented = [...section.matchAll(/^\| `(--[a-z0-9-]+)/gm)].map((m) => m[1]).sort();
      const accepted = [...new Set(flagsIn(scriptHelp(script)))].filter((x) => x !== '--help').sort();
      assert.deepEqual(documented, accepted, `docs/deploy.md §9 scripts/${script}`);
    }
  });

  it('quoted defaults are the CLI defaults (token lifetime 5m, refresh 30d, listen ports, key types)', () => {
    const doc = read('docs/deploy.md');
    const authn = tollgateHelp(['authn', 'serve']).replace(/\s+/g, ' ');
    assert.match(doc, /`--token-ttl`, default 5 minutes/);
    assert.match(authn, /--token-ttl <duration> .*default 5m\)/);
    assert.match(doc, /`--refresh-ttl`, default 30 days/);
    assert.match(authn, /--refresh-ttl <duration> .*default 30d\)/);
    assert.match(authn, /--listen <host:port> .*default 127\.0\.0\.1:5002/);
    assert.match(tollgateHelp(['authz', 'serve']).replace(/\s+/g, ' '), /--listen <host:port> .*default 127\.0\.0\.1:5001/);
    assert.match(tollgateHelp(['keys', 'generate']).replace(/\s+/g, ' '), /--alg <alg> ES256 \(EC P-256\) or RS256/);
  });

  it('every TOLLGATE_* variable the docs mention is read somewhere (compose, a script, k8s/ or the CLI)', () => {
    const sources = [
      read('docker-compose.yml'),
      ...['gen-certs.sh', 'k8s-deploy.sh', 'backup.sh', 'restore.sh', 'ext_authz.sh', 'build-images.sh', 'dockerd.sh'].map((s) => read(`scripts/${s}`)),
      ...['authz serve', 'authn serve'].map((p) => tollgateHelp(p.split(' '))),
      read('k8s/base/authn/deployment.yaml'),
    ].join('\n');
    for (const f of DOCS) {
      for (const v of new Set(read(f).match(/TOLLGATE_[A-Z_]+/g) ?? [])) assert.ok(sources.includes(v), `${f}: ${v} is read by nothing`);
    }
  });

  it('the compose settings table gives the defaults docker-compose.yml really uses', () => {
    const compose = read('docker-compose.yml');
    const section = read('docs/deploy.md').split('Settings (shell environment')[1]?.split('\n\n')[1] ?? '';
    let rows = 0;
    for (const m of section.matchAll(/^\| `([A-Z_]+)` \| `([^`]+)` \|/gm)) {
      const [, name, def] = m;
      assert.ok(compose.includes(`\${${name}:-${def}}`), `docs/deploy.md says ${name} defaults to ${def}; docker-compose.yml disagrees`);
      rows++;
    }
    assert.ok(rows >= 6, `only ${rows} rows checked`);
  });

  it('the k8s values table lists exactly the keys and defaults of the rendered tollgate-settings', () => {
    const settings = (find(render('k8s'), 'ConfigMap', 'tollgate-settings') as unknown as { data: Record<string, string> }).data;
    const section = read('docs/deploy.md').split('### Values')[1]?.split('\n\n')[2] ?? '';
    const documented = Object.fromEntries([...section.matchAll(/^\| `([a-z-]+)` \| `([^`]+)`/gm)].map((m) => [m[1], m[2]]));
    assert.deepEqual(documented, settings);
  });

  it('every path the docs name (scripts/, k8s/, deploy-test/, docs/) exists', () => {
    for (const f of DOCS) {
      for (const m of read(f).matchAll(/(?<![\w/.-])((?:scripts|k8s|deploy-test|docs)\/[\w./-]*[\w/])/g)) {
        const p = (m[1] ?? '').replace(/<[^>]*>.*$/, '');
        if (p.includes('overlays/mine') || p.includes('overlays/<')) continue;
        assert.ok(existsSync(join(ROOT, p)), `${f}: ${p} does not exist`);
      }
    }
  });

  it('docs/kompose.md explains exactly the kompose.* labels docker-compose.yml carries', () => {
    const inCompose = new Set(read('docker-compose.yml').match(/kompose\.[a-z.]+(?=:)/g) ?? []);
    const inDoc = new Set((read('docs/kompose.md').split('## What')[0]?.match(/kompose\.[a-z.]+[a-z]/g) ?? []));
    assert.deepEqual([...inDoc].sort(), [...inCompose].sort());
  });

  it('every tollgate-* object or container the docs name is rendered by k8s/ or created by k8s-deploy.sh', () => {
    const objects = [...render('k8s'), ...render('k8s/overlays/production')];
    const names = new Set(objects.flatMap((o) => {
      const spec = (o as unknown as { spec?: { template?: { spec?: { containers?: Array<{ name: string }>; initContainers?: Array<{ name: string }> } } } }).spec?.template?.spec;
      return [o.metadata.name.replace(/-[a-z0-9]{10}$/, ''), ...[...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((c) => c.name)];
    }));
    // The workload-identity examples (applied by hand, not by k8s/): their objects and the kubelet provider name.
    for (const file of ['node-rbac.yaml', 'pod.yaml', 'credential-provider-config.yaml']) {
      for (const d of parseAllDocuments(read(`k8s/examples/workload-identity/${file}`))) {
        const o = d.toJS() as { metadata?: { name?: string }; providers?: Array<{ name: string }> };
        for (const n of [o.metadata?.name, ...(o.providers ?? []).map((p) => p.name)]) if (n) names.add(n);
      }
    }
    const deploy = read('scripts/k8s-deploy.sh');
    let checked = 0;
    for (const f of DOCS) {
      for (const m of read(f).matchAll(/`((?:tollgate-|wait-for-)[a-z-]+)`/g)) {
        const n = m[1] ?? '';
        assert.ok(names.has(n) || deploy.includes(` ${n} `), `${f}: ${n} is neither rendered nor created by k8s-deploy.sh`);
        checked++;
      }
    }
    assert.ok(checked >= 10, `only ${checked} names checked`);
  });

  it('every Markdown link to a heading (#anchor) lands on one', () => {
    for (const f of DOCS) {
      for (const m of read(f).matchAll(/\]\(([^)#\s]*)#([^)\s]+)\)/g)) {
        const target = m[1] ? join(dirname(f), m[1]) : f;
        const anchors = [...read(target).matchAll(/^#{1,6} (.+)$/gm)].map((h) => slug(h[1] ?? ''));
        assert.ok(anchors.includes(m[2] ?? ''), `${f}: link to ${target}#${m[2]} has no heading`);
      }
    }
  });
});
