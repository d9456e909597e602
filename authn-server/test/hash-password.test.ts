/** `tollgate hash-password` run as a real CLI process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { createLogger } from '../../common/logger.js';
import { createCredentials } from '../src/credentials/chain.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function hashPassword(stdin: string, args: string[] = []): Promise<Run> {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'hash-password', ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.on('error', fail);
    proc.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    proc.stdin.on('error', () => undefined);
    proc.stdin.end(stdin);
  });
}

describe('tollgate hash-password', () => {
  it('hashes the first line of stdin; the hash verifies with bcryptjs', async () => {
    const run = await hashPassword('correct horse battery\nsecond line\n', ['--cost', '4']);
    assert.equal(run.code, 0, run.stderr);
    const hash = run.stdout.trim();
    assert.match(hash, /^\$2[ab]\$04\$[./A-Za-z0-9]{53}$/);
    assert.equal(run.stdout, `${hash}\n`, 'exactly one line on stdout');
    assert.equal(await bcrypt.compare('correct horse battery', hash), true);
    assert.equal(await bcrypt.compare('correct horse battery\n', hash), false, 'no trailing newline hashed');
    assert.equal(await bcrypt.compare('second line', hash), false);
  });

  it('treats CRLF and a missing final newline like a plain line', async () => {
    const [crlf, bare] = await Promise.all([hashPassword('pässwörd\r\n', ['--cost', '4']), hashPassword('pässwörd', ['--cost', '4'])]);
    for (const run of [crlf, bare]) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await bcrypt.compare('pässwörd', run.stdout.trim()), true);
    }
  });

  it('defaults to cost 10, and the hash works in a users file and an htpasswd file', async () => {
    const run = await hashPassword('s3cret\n');
    assert.equal(run.code, 0, run.stderr);
    const hash = run.stdout.trim();
    assert.equal(bcrypt.getRounds(hash), 10);
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-hashpw-'));
    try {
      writeFileSync(join(dir, 'users.yaml'), `users:\n  alice:\n    password: "${hash}"\n`);
      writeFileSync(join(dir, 'htpasswd'), `bob:${hash}\n`);
      const creds = await createCredentials({
        logger: createLogger({ name: 'hashpw-test', level: 'silent' }),
        usersFile: join(dir, 'users.yaml'),
        htpasswdFile: join(dir, 'htpasswd'),
        watch: { watch: false, pollMs: 0 },
      });
      try {
        assert.equal((await creds.authenticate('alice', 's3cret')).kind, 'ok');
        assert.equal((await creds.authenticate('bob', 's3cret')).kind, 'ok');
      } finally {
        creds.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an empty password and a bad --cost with exit code 2', async () => {
    const [empty, blank, cost] = await Promise.all([hashPassword(''), hashPassword('\n'), hashPassword('pw\n', ['--cost', '3'])]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /no password on stdin/);
    assert.equal(empty.stdout, '');
    assert.equal(blank.code, 2);
    assert.equal(cost.code, 2);
    assert.match(cost.stderr, /--cost must be an integer from 4 to 31/);
    assert.equal(cost.stdout, '');
  });
});
