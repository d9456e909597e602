/**
 * Issue 18, item 2 (first layer) and item 5, as rendered by kustomize: authn trusts X-Forwarded-For only
 * beside a NetworkPolicy that admits the ingress controller alone (plus Prometheus and tollgate's own pods),
 * authz admits only tollgate's callers, and authn's /metrics is protected by a token from the Secret.
 * The policies are read with NetworkPolicy semantics (namespaceSelector AND podSelector in one peer;
 * podSelector alone = the policy's namespace) and asked about concrete pods, as a CNI would decide.
 */
import assert from 'node:assert/strict';
import { deployment, find, render, renderSecrets, type K8sObject } from './helpers/k8s.js';
import { tempDir } from './helpers/run.js';

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: unknown;
}
interface Policy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: Selector; policyTypes: string[]; ingress?: Array<{ from?: Peer[]; ports?: Array<{ port: number }> }> };
}
interface Pod {
  namespace: string;
  labels: Record<string, string>;
}

const DIRS = ['k8s', 'k8s/overlays/production', 'k8s/overlays/postgres', 'k8s/overlays/namespace-credentials'];

function selects(sel: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const ok = { In: has && (e.values ?? []).includes(labels[e.key]!), NotIn: !has || !(e.values ?? []).includes(labels[e.key]!), Exists: has, DoesNotExist: !has }[e.operator];
    if (!ok) return false;
  }
  return true;
}

/** Whether `from` may open a connection to `port` of pods the policies select (no policy selecting them → open). */
function admits(policies: Policy[], to: Pod, from: Pod, port: number): boolean {
  const applying = policies.filter((p) => p.metadata.namespace === to.namespace && p.spec.policyTypes.includes('Ingress') && selects(p.spec.podSelector, to.labels));
  if (!applying.length) return true;
  return applying.some((p) =>
    (p.spec.ingress ?? []).some((rule) => {
      if (rule.ports && !rule.ports.some((x) => x.port === port)) return false;
      if (!rule.from) return true;
      return rule.from.some((peer) => {
        if (peer.ipBlock) return false; // no pod of ours is matched by address in these tests
        const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': from.namespace }) : from.namespace === p.metadata.namespace;
        return nsOk && selects(peer.podSelector ?? {}, from.labels);
      });
    }),
  );
}

/** Why the objects break the pairing rule (empty when they keep it): --trust-proxy on authn needs a policy admitting only named peers. */
function pairingProblems(objects: K8sObject[]): string[] {
  const authn = deployment(objects, 'tollgate-authn');
  const args = authn.spec?.template.spec?.containers[0]?.args ?? [];
  if (!args.some((a) => a.startsWith('--trust-proxy'))) return [];
  const podLabels = authn.spec?.template.metadata?.labels ?? {};
  const policies = (objects.filter((o) => o.kind === 'NetworkPolicy') as unknown as Policy[]).filter((p) => p.metadata.namespace === 'tollgate' && selects(p.spec.podSelector, podLabels));
  if (!policies.length) return ['authn trusts X-Forwarded-For but no NetworkPolicy selects its pods'];
  const problems: string[] = [];
  for (const p of policies) {
    for (const rule of p.spec.ingress ?? []) {
      if (!rule.from?.length) problems.push(`${p.metadata.name}: a rule without "from" admits every pod`);
      for (const peer of rule.from ?? []) {
        if (peer.ipBlock) problems.push(`${p.metadata.name}: an ipBlock peer admits every pod in its range`);
        if (!peer.podSelector || (!peer.podSelector.matchLabels && !peer.podSelector.matchExpressions)) problems.push(`${p.metadata.name}: a peer without a pod selector admits every pod of its namespaces`);
        if (peer.namespaceSelector && !peer.namespaceSelector.matchLabels && !peer.namespaceSelector.matchExpressions) problems.push(`${p.metadata.name}: an empty namespaceSelector admits every namespace`);
      }
    }
  }
  return problems;
}

const INGRESS_NGINX: Pod = { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller', 'app.kubernetes.io/instance': 'ingress-nginx' } };
const PROMETHEUS: Pod = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
const tollgatePod = (component: string, name = `tollgate-${component}`): Pod => ({ namespace: 'tollgate', labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': component, 'app.kubernetes.io/part-of': 'tollgate' } });

describe('k8s/ NetworkPolicy plan (decided as a CNI would: SIMULATED) and /metrics token (rendered manifests)', () => {
  const rendered = new Map<string, K8sObject[]>();
  const policies = (dir: string) => rendered.get(dir)!.filter((o) => o.kind === 'NetworkPolicy') as unknown as Policy[];
  before(() => {
    for (const d of DIRS) rendered.set(d, render(d));
  });

  it('every overlay that trusts X-Forwarded-For carries the NetworkPolicy on authn, whose peers are all named (namespace + pod selector)', () => {
    const trusting = DIRS.filter((d) => deployment(rendered.get(d)!, 'tollgate-authn').spec?.template.spec?.containers[0]?.args?.some((a) => a.startsWith('--trust-proxy')));
    assert.deepEqual(trusting, ['k8s/overlays/production']);
    for (const d of DIRS) assert.deepEqual(pairingProblems(rendered.get(d)!), [], d);
    for (const d of DIRS.filter((x) => !trusting.includes(x))) {
      assert.equal(policies(d).find((p) => p.metadata.name === 'tollgate-authn'), undefined, `${d}: authn needs no policy when it trusts nobody's header`);
    }
  });

  it('the pairing check is live: the production overlay without its authn policy, or with an ipBlock / any-pod peer, is refused', () => {
    const prod = rendered.get('k8s/overlays/production')!;
    assert.match(pairingProblems(prod.filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'tollgate-authn'))).join(), /no NetworkPolicy selects/);
    const widen = (peer: Peer) =>
      prod.map((o) => {
        if (!(o.kind === 'NetworkPolicy' && o.metadata.name === 'tollgate-authn')) return o;
        const c = structuredClone(o) as unknown as Policy;
        c.spec.ingress![0]!.from!.push(peer);
        return c as unknown as K8sObject;
      });
    assert.match(pairingProblems(widen({ ipBlock: { cidr: '10.0.0.0/8' } })).join(), /ipBlock/);
    assert.match(pairingProblems(widen({ namespaceSelector: {} , podSelector: { matchLabels: { a: 'b' } } })).join(), /empty namespaceSelector/);
    assert.match(pairingProblems(widen({ namespaceSelector: { matchLabels: { team: 'a' } } })).join(), /without a pod selector/);
  });

  it('production: the ingress controller, Prometheus and the registry reach authn; a pod elsewhere cannot, whatever labels it copies', () => {
    const np = policies('k8s/overlays/production');
    const authn = tollgatePod('authn');
    assert.ok(admits(np, authn, INGRESS_NGINX, 5002), 'ingress-nginx controller');
    assert.ok(admits(np, authn, PROMETHEUS, 5002), 'Prometheus');
    assert.ok(admits(np, authn, tollgatePod('registry'), 5002), 'the registry (start-up wait on /readyz)');
    assert.ok(!admits(np, authn, { namespace: 'team-a', labels: INGRESS_NGINX.labels }, 5002), 'a tenant pod wearing the controller labels');
    assert.ok(!admits(np, authn, { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'admission-webhook' } }, 5002), 'another pod of the ingress namespace');
    assert.ok(!admits(np, authn, { namespace: 'team-a', labels: { app: 'builder' } }, 5002), 'a tenant pod');
    assert.ok(!admits(np, authn, { namespace: 'tollgate', labels: { app: 'debug' } }, 5002), 'an unlabelled pod in tollgate');
    assert.ok(!admits(np, authn, INGRESS_NGINX, 5001), 'another port');
    // Base: authn trusts no header, so every client may reach it (its peer address is real).
    assert.ok(admits(policies('k8s'), authn, { namespace: 'team-a', labels: {} }, 5002));
  });

  it('authz: authn, the controller and the proxy of tollgate\'s namespace, and labelled admins; nobody else, in every overlay', () => {
    for (const d of DIRS) {
      const np = policies(d);
      const authz = tollgatePod('authz');
      for (const component of ['authn', 'controller', 'proxy']) assert.ok(admits(np, authz, tollgatePod(component), 5001), `${d}: ${component}`);
      assert.ok(admits(np, authz, { namespace: 'tollgate', labels: { 'tollgate.io/authz-admin': 'true' } }, 5001), `${d}: admin`);
      assert.ok(admits(np, authz, { namespace: 'tollgate', labels: { 'tollgate.io/authz-client': 'true' } }, 5001), `${d}: a new component admitted by label`);
      assert.ok(!admits(np, authz, { namespace: 'team-a', labels: tollgatePod('controller').labels }, 5001), `${d}: a tenant pod wearing the controller labels`);
      // The production overlay exposes the web console (/ui) through the Ingress on purpose: the controller pods
      // alone, never another pod of their namespace; the other overlays keep the ingress out of authz.
      if (d === 'k8s/overlays/production') {
        assert.ok(admits(np, authz, INGRESS_NGINX, 5001), `${d}: the ingress controller, for the console`);
        assert.ok(!admits(np, authz, { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'admission-webhook' } }, 5001), `${d}: another pod of the ingress namespace`);
      } else assert.ok(!admits(np, authz, INGRESS_NGINX, 5001), `${d}: the ingress`);
      assert.ok(!admits(np, authz, tollgatePod('registry'), 5001), `${d}: the registry never calls authz`);
    }
  });

  describe('/metrics of authn needs a token', () => {
    let secrets: K8sObject[];
    let dir: ReturnType<typeof tempDir>;
    before(() => {
      dir = tempDir('k8s-metrics');
      secrets = renderSecrets(dir.path);
    });
    after(() => dir?.remove());

    it('every overlay sets TOLLGATE_AUTHN_METRICS_TOKEN_FILE to metrics.token of the mounted Secret tollgate-authn, which k8s-deploy.sh fills', () => {
      const secret = find(secrets, 'Secret', 'tollgate-authn') as unknown as { data: Record<string, string> };
      assert.match(Buffer.from(secret.data['metrics.token'] ?? '', 'base64').toString().trim(), /^[0-9a-f]{64}$/);
      for (const d of DIRS) {
        const spec = deployment(rendered.get(d)!, 'tollgate-authn').spec?.template.spec;
        const c = spec?.containers[0];
        const file = c?.env?.find((e) => e.name === 'TOLLGATE_AUTHN_METRICS_TOKEN_FILE')?.value ?? '';
        assert.equal(file, '/etc/tollgate/authn/metrics.token', d);
        const mount = c?.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
        const volume = spec?.volumes?.find((v) => v.name === mount?.name);
        assert.equal(volume?.secret?.secretName, 'tollgate-authn', d);
        assert.equal(volume?.secret?.items, undefined, `${d}: the whole Secret is mounted, metrics.token included`);
      }
    });
  });
});
