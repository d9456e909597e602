/**
 * scripts/k8s-deploy.sh drives kubectl in the documented order. No cluster exists here, so kubectl is
 * wrapped: `kustomize` and `create --dry-run` go to the real kubectl, every call that would touch a
 * cluster is recorded (and `apply -f -` answers like kubectl does) so the sequence can be checked.
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { kubectlMissingHint, render } from './helpers/k8s.js';
import { run, ROOT, tempDir } from './helpers/run.js';

const FAKE = `#!/usr/bin/env bash
# Recording stand-in for a cluster: offline subcommands go to the real kubectl.
case "$1" in
  kustomize|create) exec "$REAL_KUBECTL" "$@" ;;
esac
echo "$*" >> "$KUBECTL_LOG"
if [ "$1 $2 $3" = "-n $NS get" ]; then
  # A GET of a Secret named in $MISSING answers NotFound (exit 1), like kubectl; GET_ERROR=forbidden: every GET is refused.
  case " $MISSING " in *" $5 "*) echo "Error from server (NotFound): secrets \"$5\" not found" >&2; exit 1 ;; esac
  [ "$GET_ERROR" = forbidden ] && { echo "Error from server (Forbidden): secrets \"$5\" is forbidden" >&2; exit 1; }
  echo "secret/$5"; exit 0
fi
if [ "$*" = "apply -f -" ]; then
  # Answer like kubectl: one "<kind>/<name> <state>" line per object read from stdin.
  awk -v s="$APPLY_STATE" '/^kind:/ {k=tolower($2)} /^  name:/ {print k "/" $2 " " s}'
fi
exit 0
`;

describe('scripts/k8s-deploy.sh with a FAKE kubectl (no API server here: cluster calls are recorded, not executed)', () => {
  let dir: ReturnType<typeof tempDir>;
  let certs: string;
  let env: NodeJS.ProcessEnv;
  const log = () => join(dir.path, 'kubectl.log');

  before(() => {
    const hint = kubectlMissingHint();
    if (hint) throw new Error(hint);
    dir = tempDir('k8s-deploy');
    certs = join(dir.path, 'certs');
    assert.equal(run('bash', [join(ROOT, 'scripts', 'gen-certs.sh'), '--out', certs]).status, 0);
    writeFileSync(join(certs, 'users.yaml'), 'users: {}\n');
    const bin = join(dir.path, 'bin');
    run('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'kubectl'), FAKE);
    chmodSync(join(bin, 'kubectl'), 0o755);
    const real = run('sh', ['-c', 'command -v kubectl']).stdout.trim();
    env = { PATH: `${bin}:${process.env.PATH}`, REAL_KUBECTL: real, KUBECTL_LOG: log() };
  });
  after(() => dir?.remove());

  const deployWith = (args: string[], applyState: string, missing: string[] = [], getError = 'notfound') => {
    writeFileSync(log(), '');
    const res = run('bash', [join(ROOT, 'scripts', 'k8s-deploy.sh'), '--certs', certs, ...args], { env: { ...env, APPLY_STATE: applyState, NS: 'tollgate', MISSING: missing.join(' '), GET_ERROR: getError } });
    assert.equal(res.status, 0, res.stderr);
    return { calls: readFileSync(log(), 'utf8').trim().split('\n').map((l) => l.replace(/-f (?!-)\S+/, '-f FILE')), stderr: res.stderr, stdout: res.stdout };
  };
  const deploy = (args: string[], applyState: string) => deployWith(args, applyState).calls;
  const PROD = join(ROOT, 'k8s', 'overlays', 'production');

  it('applies key material, then authz, authn, registry, waiting for each rollout before the next', () => {
    assert.deepEqual(deploy([], 'created'), [
      'apply -f FILE -l app.kubernetes.io/component=shared',
      'apply -f -',
      'apply -f FILE -l app.kubernetes.io/component=authz',
      '-n tollgate rollout status deployment/tollgate-authz --timeout 300s',
      'apply -f FILE -l app.kubernetes.io/component=authn',
      '-n tollgate rollout status deployment/tollgate-authn --timeout 300s',
      'apply -f FILE -l app.kubernetes.io/component=registry',
      '-n tollgate rollout status deployment/tollgate-registry --timeout 300s',
      'apply -f FILE',
    ]);
  });

  it('every object of every overlay is applied, labelled or not (Ingress, PDB, the proxy), the rest after the registry', () => {
    // The fake kubectl does not select: which objects an `apply -f FILE -l component=X` reaches is worked out here.
    for (const kdir of ['k8s', ...readdirSync(join(ROOT, 'k8s', 'overlays')).map((o) => `k8s/overlays/${o}`)]) {
      const objects = render(kdir);
      const calls = deploy(['--kustomize', join(ROOT, kdir)], 'unchanged');
      const applies = calls.filter((c) => c.startsWith('apply -f FILE'));
      const applied = (o: (typeof objects)[number]) =>
        applies.some((c) => c === 'apply -f FILE' || c === `apply -f FILE -l app.kubernetes.io/component=${o.metadata.labels?.['app.kubernetes.io/component']}`);
      assert.deepEqual(objects.filter((o) => !applied(o)).map((o) => `${o.kind}/${o.metadata.name}`), [], `${kdir}: objects never applied`);
      assert.ok(calls.indexOf('apply -f FILE') > calls.indexOf('-n tollgate rollout status deployment/tollgate-registry --timeout 300s'), `${kdir}: the rest comes after the registry`);
    }
  });

  it('after a key change restarts authz, then the registry (new bundle), then authn (new key)', () => {
    const calls = deploy(['--timeout', '60s'], 'configured');
    const restarts = calls.filter((c) => c.includes('rollout restart')).map((c) => c.split('/').pop());
    assert.deepEqual(restarts, ['tollgate-authz', 'tollgate-registry', 'tollgate-authn']);
    const last = calls.indexOf('-n tollgate rollout status deployment/tollgate-registry --timeout 60s');
    assert.ok(last >= 0 && last < calls.findIndex((c) => c.includes('rollout restart')), 'restarts come after the rollout');
  });

  it('--one-shot applies the whole kustomization at once and still waits for every rollout', () => {
    const calls = deploy(['--one-shot', '--kustomize', join(ROOT, 'k8s', 'overlays', 'production')], 'unchanged');
    assert.deepEqual(calls.slice(1), [
      'apply -f -',
      `apply -k ${join(ROOT, 'k8s', 'overlays', 'production')}`,
      '-n tollgate rollout status deployment/tollgate-authz --timeout 300s',
      '-n tollgate rollout status deployment/tollgate-authn --timeout 300s',
      '-n tollgate rollout status deployment/tollgate-registry --timeout 300s',
      '-n tollgate get secret tollgate-controller-authz -o name',
      '-n tollgate rollout status deployment/tollgate-controller --timeout 300s',
    ]);
  });

  it('with the controller component (production overlay), the controller is applied and awaited last, after the authz it talks to', () => {
    const calls = deploy(['--kustomize', join(ROOT, 'k8s', 'overlays', 'production')], 'unchanged');
    assert.deepEqual(calls.slice(-3), ['apply -f FILE', '-n tollgate get secret tollgate-controller-authz -o name', '-n tollgate rollout status deployment/tollgate-controller --timeout 300s']);
    assert.ok(calls.indexOf('-n tollgate rollout status deployment/tollgate-authz --timeout 300s') < calls.indexOf('apply -f FILE'));
  });

  it('on a first deploy (no Secret tollgate-controller-authz: its token needs a running authz) the controller is applied but not awaited, and the output says how to make the Secret and to re-run', () => {
    const docs = readFileSync(join(ROOT, 'docs', 'controller.md'), 'utf8');
    const create = docs.split('\n').filter((l) => /^(tollgate token create|kubectl -n tollgate create secret generic tollgate-controller-authz) /.test(l));
    assert.equal(create.length, 2, 'docs/controller.md gives the two commands');
    for (const mode of [[], ['--one-shot']]) {
      const { calls, stderr } = deployWith([...mode, '--kustomize', PROD], 'created', ['tollgate-controller-authz']);
      const what = mode.join(' ') || 'ordered';
      assert.ok(calls.includes('-n tollgate rollout status deployment/tollgate-registry --timeout 300s'), `${what}: the stack is awaited`);
      assert.deepEqual(calls.filter((c) => c.includes('rollout status deployment/tollgate-controller')), [], `${what}: no wait for the controller`);
      if (!mode.length) assert.ok(calls.includes('apply -f FILE'), 'the controller is still applied: its pods start once the Secret exists');
      assert.match(stderr, /not waiting for tollgate-controller: its authz token \(Secret tollgate-controller-authz\) does not exist yet/);
      // The docs name certs/ relative to the checkout; the script prints the --certs it was given.
      for (const line of create.map((l) => l.replace('certs/admin.token', join(certs, 'admin.token')))) assert.ok(stderr.includes(line), `${what}: stderr gives \`${line}\``);
      assert.match(stderr, /re-run this script/);
    }
  });

  it('a Secret that cannot be read for another reason (Forbidden) is not taken as missing: the controller is awaited', () => {
    const { calls, stderr } = deployWith(['--kustomize', PROD], 'unchanged', [], 'forbidden');
    assert.deepEqual(calls.slice(-2), ['-n tollgate get secret tollgate-controller-authz -o name', '-n tollgate rollout status deployment/tollgate-controller --timeout 300s']);
    assert.doesNotMatch(stderr, /not waiting/);
  });

  it('an overlay with trusted-ingress but no controller (its NetworkPolicy names ingress-nginx\'s `component: controller` pods) neither applies nor awaits a controller', () => {
    const overlay = join(dir.path, 'ingress-only');
    run('mkdir', ['-p', overlay]);
    writeFileSync(join(overlay, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${relative(overlay, join(ROOT, 'k8s', 'base'))}\ncomponents:\n  - ${relative(overlay, join(ROOT, 'k8s', 'components', 'trusted-ingress'))}\n`);
    for (const mode of [[], ['--one-shot']]) {
      const calls = deploy([...mode, '--kustomize', overlay], 'unchanged');
      assert.ok(calls.some((c) => c.includes('deployment/tollgate-registry')), `the stack is awaited (${mode.join(' ') || 'ordered'})`);
      assert.deepEqual(calls.filter((c) => c.includes('controller')), [], `no controller step (${mode.join(' ') || 'ordered'})`);
    }
  });

  it('--secrets-only stops after the key material; --no-secrets never touches it', () => {
    assert.deepEqual(deploy(['--secrets-only'], 'created'), ['apply -f FILE -l app.kubernetes.io/component=shared', 'apply -f -']);
    assert.ok(!deploy(['--no-secrets'], 'created').includes('apply -f -'));
  });
});
