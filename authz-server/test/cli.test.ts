/** The admin CLI, run as a real process against a real server process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerAuthzCommands } from '../src/cli/index.js';
import { dbArg, ENGINES, ROOT, spawnServer, tempDir, tokenFiles, type ServerProcess } from './helpers.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

for (const engine of ENGINES) describe(`admin CLI against a running server (${engine})`, function () {
  let t: ReturnType<typeof tempDir>;
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;

  // Async spawn: a synchronous one would block the event loop this process shares with nothing, but keep it uniform.
  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, stdin?: string): Promise<Run> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), ...args], { cwd: ROOT, env: { ...env, ...extraEnv } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.stdin.end(stdin ?? '');
      p.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  before(async () => {
    t = tempDir();
    const tok = tokenFiles(t.dir);
    server = await spawnServer(['--db', await dbArg(engine, t.dir), '--admin-token-file', tok.admin, '--client-token-file', tok.client, '--log-level', 'warn']);
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLGATE_AUTHZ_')));
    env = { ...base, NODE_OPTIONS: '', TOLLGATE_AUTHZ_URL: server.url, TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE: tok.admin };
  });
  after(async () => {
    await server?.stop('SIGKILL');
    t.cleanup();
  });

  it('role add (--permission twice, then --file YAML replaces), role get, role list', async () => {
    const add = await cli(['role', 'add', 'ns-puller', '--permission', '{"name":"${namespace}/**","actions":["pull"]}', '--permission', '{"request_type":"registry","name":"catalog","actions":["*"]}']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /role "ns-puller" created/);
    const yamlFile = join(t.dir, 'role.yaml');
    writeFileSync(yamlFile, 'permissions:\n  - name: "${namespace}/**"\n    actions: [pull, push]\n');
    const replace = await cli(['role', 'add', 'ns-puller', '--file', yamlFile]);
    assert.equal(replace.code, 0, replace.stderr);
    assert.match(replace.stdout, /replaced/);
    const get = await cli(['role', 'get', 'ns-puller']);
    assert.deepEqual(JSON.parse(get.stdout).permissions, [{ name: '${namespace}/**', actions: ['pull', 'push'] }]);
    const list = await cli(['role', 'list']);
    assert.match(list.stdout, /^ns-puller\t/m);
  });

  it('robot create (-o dockerconfigjson), list, rotate (-o json), rm; bad input exits non-zero with the server\'s reason', async () => {
    const made = await cli(['robot', 'create', 'team-a', 'ci', '--actions', 'pull,push', '--ttl', '90d', '-o', 'dockerconfigjson', '--registry', 'registry.example.com']);
    assert.equal(made.code, 0, made.stderr);
    const cfg = JSON.parse(made.stdout) as { auths: Record<string, { username: string; password: string; auth: string }> };
    const entry = cfg.auths['registry.example.com']!;
    assert.equal(entry.username, 'robot:team-a+ci');
    assert.match(entry.password, /^tgr_/);
    assert.equal(Buffer.from(entry.auth, 'base64').toString(), `robot:team-a+ci:${entry.password}`);
    const list = await cli(['robot', 'list', '--namespace', 'team-a']);
    assert.match(list.stdout, /^robot:team-a\+ci {2}pull,push {2}expires 20/m);
    assert.ok(!list.stdout.includes(entry.password), 'list never shows a secret');
    const rot = await cli(['robot', 'rotate', 'robot:team-a+ci', '--overlap', '1h', '-o', 'json']);
    assert.equal(rot.code, 0, rot.stderr);
    const r = JSON.parse(rot.stdout) as { secret: string; previous_valid_until: string };
    assert.notEqual(r.secret, entry.password);
    assert.ok(Date.parse(r.previous_valid_until) > Date.now());
    const bad = await cli(['robot', 'create', 'team-a', 'ci2', '--actions', 'delete']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /400 invalid_request.*unknown action/);
    const noReg = await cli(['robot', 'create', 'team-a', 'ci3', '-o', 'dockerconfigjson']);
    assert.notEqual(noReg.code, 0);
    assert.match(noReg.stderr, /--registry/);
    assert.equal((await cli(['robot', 'rm', 'robot:team-a+ci'])).code, 0);
    const gone = await cli(['robot', 'rm', 'robot:team-a+ci']);
    assert.match(gone.stderr, /404/);
  });

  it('token create (printed once), list, use with --token-file for a scoped rotation, rm; robot bindings refused', async () => {
    await cli(['robot', 'create', 'team-c', 'puller']);
    const made = await cli(['token', 'create', 'team-c-rotate', '--namespace', 'team-c', '--ability', 'robots:rotate', '--ttl', '30d']);
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    assert.match(token, /^tgt_[A-Za-z0-9_-]{43}$/);
    assert.match(made.stderr, /shown only this once/);
    const list = await cli(['token', 'list']);
    assert.match(list.stdout, /^team-c-rotate {2}robots:rotate {2}namespaces team-c {2}expires 20\S+ {2}last used never$/m);
    assert.ok(!list.stdout.includes(token), 'list never shows a token');
    const file = join(t.dir, 'scoped.token');
    writeFileSync(file, `${token}\n`);
    const noAdmin = { TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE: '' };
    const rot = await cli(['robot', 'rotate', 'robot:team-c+puller', '--token-file', file, '-o', 'json'], noAdmin);
    assert.equal(rot.code, 0, rot.stderr);
    const other = await cli(['robot', 'create', 'team-d', 'x'], { ...noAdmin, TOLLGATE_AUTHZ_TOKEN_FILE: file });
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /403 forbidden.*robots:manage/);
    const bad = await cli(['token', 'create', 'x', '--namespace', 'team-c', '--ability', 'root']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /400 invalid_request.*unknown ability/);
    const robotBinding = await cli(['binding', 'add', 'robot:team-c+puller', 'ns-puller', '--namespace', 'team-c']);
    assert.notEqual(robotBinding.code, 0);
    assert.match(robotBinding.stderr, /400 invalid_request.*robot table/);
    assert.equal((await cli(['token', 'rm', 'team-c-rotate'])).code, 0);
    const revoked = await cli(['robot', 'rotate', 'robot:team-c+puller', '--token-file', file], noAdmin);
    assert.match(revoked.stderr, /401/);
  });

  it('binding add, check (allowed exit 0 / denied exit 3 with the reason), binding list, binding rm', async () => {
    const add = await cli(['binding', 'add', 'team-a-bot', 'ns-puller', '--namespace', 'team-a']);
    assert.equal(add.code, 0, add.stderr);
    const ok = await cli(['check', '--account', 'team-a-bot', '--name', 'team-a/app', '--action', 'pull,push']);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /^ALLOWED/);
    assert.match(ok.stdout, /pull: binding team-a-bot → role ns-puller \(namespace team-a\)/);
    const no = await cli(['check', '--account', 'team-a-bot', '--name', 'team-b/app']);
    assert.equal(no.code, 3);
    assert.match(no.stdout, /^DENIED/);
    assert.match(no.stdout, /name "team-b\/app" does not match/);
    const list = await cli(['binding', 'list', '--account', 'team-a-bot']);
    assert.match(list.stdout, /team-a-bot → ns-puller \(namespace team-a\)/);
    const filtered = await cli(['binding', 'list', '--filter', 'a-bo']);
    assert.match(filtered.stdout, /team-a-bot → ns-puller \(namespace team-a\)/);
    assert.match((await cli(['binding', 'list', '--filter', 'nobody-has-this'])).stdout, /no bindings/);
    const rm = await cli(['binding', 'rm', 'team-a-bot', 'ns-puller', '--namespace', 'team-a']);
    assert.equal(rm.code, 0, rm.stderr);
    const gone = await cli(['binding', 'list', '--account', 'team-a-bot']);
    assert.match(gone.stdout, /no bindings/);
  });

  it('export to a file, import --merge and import (replace) from stdin', async () => {
    await cli(['binding', 'add', '<anonymous>', 'ns-puller', '--namespace', 'public']);
    const out = join(t.dir, 'state.json');
    const exp = await cli(['export', '--out', out]);
    assert.equal(exp.code, 0, exp.stderr);
    const state = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(state.bindings.length, 1);
    const merge = await cli(['import', out, '--merge']);
    assert.equal(merge.code, 0, merge.stderr);
    assert.match(merge.stdout, /imported \(merge\): 1 role\(s\), 0 new binding/);
    const empty = JSON.stringify({ version: 1, roles: [], bindings: [] });
    const replace = await cli(['import', '-'], {}, empty);
    assert.equal(replace.code, 0, replace.stderr);
    const list = await cli(['role', 'list']);
    assert.match(list.stdout, /no roles/);
    const restore = await cli(['import', out]);
    assert.equal(restore.code, 0, restore.stderr);
    const anon = await cli(['check', '--account', '', '--name', 'public/app']);
    assert.equal(anon.code, 0, anon.stdout);
  });

  it('errors: server message and non-zero exit; unknown role; bad JSON; wrong token; unreachable server', async () => {
    const unknown = await cli(['binding', 'add', 'x', 'ghost']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /role "ghost" does not exist/);
    const badJson = await cli(['role', 'add', 'r', '--permission', '{nope']);
    assert.equal(badJson.code, 1);
    assert.match(badJson.stderr, /--permission #1 is not valid JSON/);
    const badPattern = await cli(['role', 'add', 'r', '--permission', '{"name":"/(/","actions":["pull"]}']);
    assert.equal(badPattern.code, 1);
    assert.match(badPattern.stderr, /permissions\[0\]\.name/);
    const wrongTok = await cli(['role', 'list'], { TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE: '', TOLLGATE_AUTHZ_ADMIN_TOKEN: 'wrong' });
    assert.equal(wrongTok.code, 1);
    assert.match(wrongTok.stderr, /401 unauthorized.*invalid, expired or revoked token/);
    const down = await cli(['role', 'list', '--url', 'http://127.0.0.1:9']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach authz-server at http:\/\/127\.0\.0\.1:9/);
    const inUse = await cli(['role', 'rm', 'ns-puller']);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /409 role_in_use/);
    const noTok = await cli(['role', 'list'], { TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE: '' });
    assert.equal(noTok.code, 1);
    assert.match(noTok.stderr, /401 unauthorized.*pass --token-file FILE or set TOLLGATE_AUTHZ_ADMIN_TOKEN/);
    const noFile = await cli(['import', join(t.dir, 'missing.json')]);
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /cannot read state from .*missing\.json/);
  });

  it('--help from the real binary (every command is covered in-process below)', async () => {
    for (const args of [['role', 'add', '--help'], ['authz', 'serve', '--help']]) {
      const res = await cli(args);
      assert.equal(res.code, 0, args.join(' '));
      assert.match(res.stdout, /Usage: tollgate/);
    }
  });
});

describe('admin CLI --help', () => {
  it('every authz command and sub-command prints its usage and exits 0', async () => {
    const root = new Command('tollgate');
    registerAuthzCommands(root);
    const paths: string[][] = [];
    const walk = (cmd: Command, path: string[]) => {
      for (const sub of cmd.commands) {
        paths.push([...path, sub.name()]);
        walk(sub, [...path, sub.name()]);
      }
    };
    walk(root, []);
    for (const want of ['role add', 'role get', 'role list', 'role rm', 'binding add', 'binding list', 'binding rm', 'check', 'export', 'import', 'authz serve', 'token create', 'token list', 'token rm']) {
      assert.ok(paths.some((p) => p.join(' ') === want), `missing command ${want}`);
    }
    for (const path of paths) {
      const program = new Command('tollgate').exitOverride();
      let out = '';
      program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
      registerAuthzCommands(program);
      const apply = (c: Command): void => void c.commands.forEach((sub) => (sub.exitOverride(), sub.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) }), apply(sub)));
      apply(program);
      await assert.rejects(program.parseAsync(['node', 'tollgate', ...path, '--help']), (e: { code?: string; exitCode?: number }) => e.code === 'commander.helpDisplayed' && e.exitCode === 0);
      assert.match(out, new RegExp(`^Usage: tollgate ${path.join(' ')}`), path.join(' '));
      if (path.length > 1 || ['check', 'export', 'import'].includes(path[0] as string)) assert.match(out, /--url <url>|--listen/, `${path.join(' ')} documents its options`);
    }
  });
});
