/**
 * k8s/components/controller in the production overlay: the CRD (full schema, status subresource,
 * printer columns) agrees with the controller's own checks, the ClusterRole is exactly the least that
 * works, tenants get RegistryCredentials through `edit`/`admin` aggregation only, the controller reaches
 * authz through the base NetworkPolicy (the component adds none), and its pod reads the API the in-cluster way with a projected token.
 */
import assert from 'node:assert/strict';
import { parseIssuersFile } from '../authn-server/src/credentials/oidc/config.js';
import { loadConfig } from '../controller/src/config.js';
import { CR, FINALIZER } from '../controller/src/decide/spec.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { deployment, find, render, type K8sObject } from './helpers/k8s.js';
import { ROOT, tempDir } from './helpers/run.js';

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

describe('k8s/components/controller (production overlay)', () => {
  let prod: K8sObject[];
  before(() => {
    prod = render('k8s/overlays/production');
  });

  it('the CRD serves registry.tollgate.dev/v1alpha1 RegistryCredential with a status subresource, a full schema and printer columns', () => {
    const crd = find(prod, 'CustomResourceDefinition', `${CR.plural}.${CR.group}`) as unknown as { spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: Array<Record<string, any>> } };
    assert.equal(crd.spec.group, CR.group);
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.deepEqual([crd.spec.names.kind, crd.spec.names.plural], [CR.kind, CR.plural]);
    const v = crd.spec.versions[0]!;
    assert.equal(v.name, CR.version);
    assert.deepEqual(v.subresources, { status: {} });
    const spec = v.schema.openAPIV3Schema.properties.spec;
    assert.deepEqual(spec.properties.type.enum, ['Robot', 'ServiceAccountToken']);
    assert.deepEqual(spec.properties.actions.items.enum, ['pull', 'push']);
    assert.equal(spec.properties.expirationSeconds.minimum, 600);
    assert.ok(v.schema.openAPIV3Schema.properties.status.properties.conditions);
    assert.deepEqual(v.additionalPrinterColumns.map((c: { name: string }) => c.name), ['Type', 'Ready', 'Reason', 'Account', 'Secret', 'Next rotation', 'Age']);
  });

  it('the controller\'s ClusterRole is the least that works: no list/watch of Secrets, no wildcard', () => {
    const role = find(prod, 'ClusterRole', 'tollgate-controller') as unknown as { rules: Rule[] };
    const grants = role.rules.flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${r.apiGroups[0] || 'core'}/${res}:${v}`))).sort();
    assert.deepEqual(grants, [
      'core/secrets:create', 'core/secrets:delete', 'core/secrets:get', 'core/secrets:update',
      'core/serviceaccounts/token:create', 'core/serviceaccounts:get', 'core/serviceaccounts:update',
      'events.k8s.io/events:create',
      'registry.tollgate.dev/registrycredentials/status:patch',
      'registry.tollgate.dev/registrycredentials:get', 'registry.tollgate.dev/registrycredentials:list', 'registry.tollgate.dev/registrycredentials:patch', 'registry.tollgate.dev/registrycredentials:watch',
    ].sort());
    const lease = find(prod, 'Role', 'tollgate-controller-lease') as unknown as { metadata: { namespace: string }; rules: Rule[] };
    assert.equal(lease.metadata.namespace, 'tollgate');
    assert.deepEqual(lease.rules.find((r) => r.verbs.includes('update'))?.resourceNames, ['tollgate-controller']);
    const binding = find(prod, 'ClusterRoleBinding', 'tollgate-controller') as unknown as { subjects: Array<{ name: string; namespace: string }> };
    assert.deepEqual(binding.subjects.map((s) => `${s.namespace}/${s.name}`), ['tollgate/tollgate-controller']);
  });

  it('tenants create RegistryCredentials through edit/admin aggregation, and get nothing else from it', () => {
    const edit = find(prod, 'ClusterRole', 'tollgate-registrycredentials-edit') as unknown as { metadata: { labels: Record<string, string> }; rules: Rule[] };
    assert.equal(edit.metadata.labels['rbac.authorization.k8s.io/aggregate-to-edit'], 'true');
    assert.equal(edit.metadata.labels['rbac.authorization.k8s.io/aggregate-to-admin'], 'true');
    assert.deepEqual(edit.rules.map((r) => r.resources), [['registrycredentials']]);
    assert.deepEqual(edit.rules.map((r) => r.apiGroups), [[CR.group]]);
  });

  it('the component labels only its own objects: the other pods keep their component (k8s-deploy.sh applies by it; the NetworkPolicies admit by it)', () => {
    const component = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'];
    assert.deepEqual(prod.filter((o) => component(o) === 'controller').map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ClusterRole/tollgate-controller', 'ClusterRole/tollgate-registrycredentials-edit', 'ClusterRole/tollgate-registrycredentials-view', 'ClusterRoleBinding/tollgate-controller',
      'CustomResourceDefinition/registrycredentials.registry.tollgate.dev', 'Deployment/tollgate-controller', 'Role/tollgate-controller-lease', 'RoleBinding/tollgate-controller-lease', 'ServiceAccount/tollgate-controller',
    ]);
    for (const c of ['authz', 'authn', 'registry']) {
      const d = deployment(prod, `tollgate-${c}`);
      assert.equal(d.metadata?.labels?.['app.kubernetes.io/component'], c, `Deployment tollgate-${c}`);
      assert.equal(d.spec!.template.metadata!.labels!['app.kubernetes.io/component'], c, `pods of tollgate-${c}`);
    }
    assert.equal(component(find(prod, 'Namespace', 'tollgate')), 'shared');
  });

  it('NetworkPolicy: the base policy tollgate-authz admits the controller\'s pods to authz on its port (by their component label, same namespace only); the component adds no policy of its own', () => {
    type Sel = { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
    type Policy = { metadata: { name: string }; spec: { podSelector: Sel; ingress: Array<{ from: Array<{ podSelector?: Sel; namespaceSelector?: Sel }>; ports: Array<{ port: number }> }> } };
    const selects = (sel: Sel, labels: Record<string, string>) =>
      Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v) && (sel.matchExpressions ?? []).every((e) => e.operator === 'In' && (e.values ?? []).includes(labels[e.key] ?? ''));
    const d = deployment(prod, 'tollgate-controller');
    const labels = d.spec!.template.metadata!.labels as Record<string, string>;
    assert.deepEqual(labels, { 'app.kubernetes.io/name': 'tollgate-controller', 'app.kubernetes.io/component': 'controller', 'app.kubernetes.io/part-of': 'tollgate' });
    const authzLabels = deployment(prod, 'tollgate-authz').spec!.template.metadata!.labels as Record<string, string>;
    const toAuthz = (prod.filter((o) => o.kind === 'NetworkPolicy') as unknown as Policy[]).filter((p) => selects(p.spec.podSelector, authzLabels));
    // Which policy and peer let the controller in, on which ports: exactly the base policy's component peer.
    const admitting = toAuthz.flatMap((p) => p.spec.ingress.flatMap((rule) => rule.from.filter((f) => f.namespaceSelector === undefined && f.podSelector && selects(f.podSelector, labels)).map((f) => ({ policy: p.metadata.name, peer: f.podSelector, ports: rule.ports.map((x) => x.port) }))));
    assert.deepEqual(admitting, [{ policy: 'tollgate-authz', peer: { matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['authn', 'controller', 'proxy'] }] }, ports: [5001] }]);

    const dir = tempDir('controller-np');
    try {
      const overlay = (name: string, components: string[]) => {
        const at = join(dir.path, name);
        mkdirSync(at);
        writeFileSync(join(at, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${relative(at, join(ROOT, 'k8s', 'base'))}\ncomponents:\n${components.map((c) => `  - ${relative(at, join(ROOT, 'k8s', 'components', c))}\n`).join('')}`);
        return render(at).filter((o) => o.kind === 'NetworkPolicy');
      };
      assert.deepEqual(overlay('with', ['controller']), render('k8s').filter((o) => o.kind === 'NetworkPolicy'), 'base + the controller component: the base\'s NetworkPolicies, unchanged, and no other');
    } finally {
      dir.remove();
    }
  });

  it('the pod: its own service account, the token projected at the in-cluster path, a separate authz token, flags the controller accepts', () => {
    const d = deployment(prod, 'tollgate-controller');
    const pod = d.spec!.template.spec!;
    assert.equal(pod.serviceAccountName, 'tollgate-controller');
    const c = pod.containers[0]!;
    const mount = (path: string) => c.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`));
    const volume = (path: string) => pod.volumes!.find((v) => v.name === mount(path)?.name);
    const sources = volume('/var/run/secrets/kubernetes.io/serviceaccount/token')?.projected?.sources ?? [];
    assert.equal(sources.find((s) => s.serviceAccountToken)?.serviceAccountToken?.path, 'token');
    assert.equal(sources.find((s) => s.configMap)?.configMap?.name, 'kube-root-ca.crt');
    const tokenArg = c.args!.find((a) => a.startsWith('--authz-token-file='))!.split('=')[1]!;
    assert.equal(volume(tokenArg)?.secret?.secretName, 'tollgate-controller-authz', 'not the authz admin token Secret');
    assert.ok(c.args!.includes('--authz-url=http://tollgate-authz:5001'));
    const flags = Object.fromEntries(c.args!.slice(1).map((a) => a.replace(/^--/, '').split('=') as [string, string]).map(([k, v]) => [k.replace(/-([a-z])/g, (_m, x: string) => x.toUpperCase()), v.replace(/^\$\(.*\)$/, 'registry.example.com')]));
    assert.doesNotThrow(() => loadConfig(flags, {}));
    assert.deepEqual(c.env!.map((e) => e.name).filter((n) => n.startsWith('POD_')), ['POD_NAME', 'POD_NAMESPACE']);
    assert.ok(FINALIZER.startsWith(CR.group));
  });

  it('ServiceAccountToken credentials use an audience and user name authn\'s issuers file accepts (the registry host, k8s)', () => {
    const c = deployment(prod, 'tollgate-controller').spec!.template.spec!.containers[0]!;
    assert.ok(!c.args!.some((a) => a.startsWith('--audience') || a.startsWith('--token-username')), 'defaults: audience = --registry-host, user k8s');
    const hostEnv = c.env!.find((e) => e.name === 'TOLLGATE_CONTROLLER_REGISTRY_HOST')!.valueFrom!.configMapKeyRef!;
    const settings = find(prod, 'ConfigMap', hostEnv.name!) as unknown as { data: Record<string, string> };
    const host = settings.data[hostEnv.key]!;
    const issuers = parseIssuersFile((find(prod, 'ConfigMap', 'tollgate-oidc-issuers') as unknown as { data: Record<string, string> }).data['issuers.yaml']!);
    assert.ok(issuers.some((i) => i.audiences.includes(host) && i.usernames.includes('k8s')), JSON.stringify(issuers.map((i) => [i.audiences, i.usernames])));
  });
});
