/**
 * scripts/install-e2e-deps.sh is idempotent: it installs exactly what is missing, and a second run
 * installs nothing. apt-get is a recording stand-in on a PATH from which podman has been hidden.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBins } from '../harness/fixture.js';
import { ROOT, run, tempDir } from '../harness/procs.js';

describe('scripts/install-e2e-deps.sh', function () {
  this.timeout(60000);
  const t = tempDir();
  after(() => t.cleanup());

  it('installs only what is missing, then does nothing on the next run', async function () {
    requireBins(this, ['docker-registry', 'skopeo', 'podman', 'dockerd', 'containerd', 'ctr', 'docker']);
    const bin = join(t.dir, 'bin');
    const log = join(t.dir, 'apt-get.log');
    // A PATH like the machine's, minus podman and the real apt-get (and sudo, so nothing real runs as root).
    const hidden = new Set(['podman', 'apt-get', 'sudo']);
    mkdirSync(bin, { recursive: true });
    for (const dir of ['/usr/local/bin', '/usr/bin', '/bin']) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (hidden.has(name) || existsSync(join(bin, name))) continue;
        symlinkSync(join(dir, name), join(bin, name));
      }
    }
    // apt-get stand-in: records its arguments; "install … podman" puts a podman on the PATH.
    writeFileSync(
      join(bin, 'apt-get'),
      `#!/bin/sh\necho "$*" >> ${log}\ncase " $* " in *" install "*" podman "*) printf '#!/bin/sh\\necho podman version 0-test\\n' > ${join(bin, 'podman')}; chmod +x ${join(bin, 'podman')};; esac\n`,
    );
    writeFileSync(join(bin, 'sudo'), '#!/bin/sh\nexec "$@"\n');
    for (const f of ['apt-get', 'sudo']) chmodSync(join(bin, f), 0o755);
    const script = () => run('bash', [join(ROOT, 'scripts', 'install-e2e-deps.sh')], { env: { PATH: bin } });

    const first = await script();
    assert.equal(first.code, 0, first.out);
    assert.match(first.stdout, /installing podman\n/);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['update -qq', 'install -y -qq podman']);
    assert.match(first.stdout, /podman version 0-test/);

    writeFileSync(log, '');
    const second = await script();
    assert.equal(second.code, 0, second.out);
    assert.match(second.stdout, /registry and clients present/);
    assert.equal(readFileSync(log, 'utf8'), '', 'no apt-get call on the second run');
  });
});
