/**
 * k8s/overlays/namespace-credentials: authn may read exactly the one Secret name it is configured for
 * (get, list, watch — nothing else), runs as the ServiceAccount the binding names, and its settings load.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../authn-server/src/config.js';
import { deployment, find, render, validateObject, type K8sObject } from './helpers/k8s.js';

describe('kubectl kustomize k8s/overlays/namespace-credentials', () => {
  let objects: K8sObject[];
  before(() => {
    objects = render('k8s/overlays/namespace-credentials');
  });

  it('every object validates against the Kubernetes schema', () => {
    for (const o of objects) assert.doesNotThrow(() => validateObject(o), `${o.kind}/${o.metadata.name}`);
  });

  it('the ClusterRole reads only the configured Secret name: get, list, watch', () => {
    const role = find(objects, 'ClusterRole', 'tollgate-authn-namespace-credentials') as K8sObject & { rules: Array<Record<string, string[]>> };
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['tollgate-registry'], verbs: ['get', 'list', 'watch'] }]);
    const env = deployment(objects, 'tollgate-authn').spec!.template.spec!.containers.find((c) => c.name === 'authn')!.env!;
    const name = env.find((e) => e.name === 'TOLLGATE_AUTHN_K8S_SECRET_NAME')?.value;
    assert.equal(name, role.rules[0]!.resourceNames![0], 'the Secret authn asks for is the one RBAC allows');
  });

  it('the binding names the ServiceAccount the authn pods run as, and only they mount its token', () => {
    const binding = find(objects, 'ClusterRoleBinding', 'tollgate-authn-namespace-credentials') as K8sObject & { subjects: Array<Record<string, string>>; roleRef: Record<string, string> };
    const pod = deployment(objects, 'tollgate-authn').spec!.template.spec!;
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'tollgate' }]);
    assert.equal(binding.roleRef.name, 'tollgate-authn-namespace-credentials');
    assert.equal(pod.automountServiceAccountToken, true);
    const sa = find(objects, 'ServiceAccount', 'tollgate-authn') as K8sObject & { automountServiceAccountToken?: boolean };
    assert.equal(sa.automountServiceAccountToken, false, 'other pods using the account get no token by default');
    for (const other of ['tollgate-authz', 'tollgate-registry']) assert.equal(deployment(objects, other).spec!.template.spec!.automountServiceAccountToken, false);
  });

  it('the authn settings turn the backend on and load', () => {
    const env = Object.fromEntries(deployment(objects, 'tollgate-authn').spec!.template.spec!.containers.find((c) => c.name === 'authn')!.env!.filter((e) => e.value !== undefined && !e.name.endsWith('_FILE')).map((e) => [e.name, e.value!]));
    // *_FILE settings name files mounted in the pod (the metrics token): checked against the mounts elsewhere.
    const cfg = loadConfig({ key: 'k.pem' }, env);
    assert.equal(cfg.k8sSecrets, true);
    assert.equal(cfg.k8sSecretName, 'tollgate-registry');
  });
});

describe('kubectl kustomize k8s/examples/robot-rotation', () => {
  let objects: K8sObject[];
  before(() => {
    objects = render('k8s/examples/robot-rotation');
  });
  type JobPod = {
    metadata: { labels: Record<string, string> };
    spec: {
      serviceAccountName: string;
      initContainers: Array<{ args: string[]; env: Array<{ name: string; value?: string }>; volumeMounts: Array<{ name: string; mountPath: string }> }>;
      containers: Array<{ args: string[] }>;
      volumes: Array<{ name: string; secret?: { secretName: string } }>;
    };
  };
  const jobPod = (): JobPod => (find(objects, 'CronJob', 'robot-rotation') as K8sObject & { spec: { jobTemplate: { spec: { template: JobPod } } } }).spec.jobTemplate.spec.template;

  it('every object validates against the Kubernetes schema; the tenant objects are in team-a, the NetworkPolicy beside authz', () => {
    for (const o of objects) {
      assert.doesNotThrow(() => validateObject(o), `${o.kind}/${o.metadata.name}`);
      assert.equal(o.metadata.namespace, o.kind === 'NetworkPolicy' ? 'tollgate' : 'team-a', `${o.kind}/${o.metadata.name}`);
    }
  });

  it('the job may update exactly the Secret it writes, and runs as the bound account', () => {
    const role = find(objects, 'Role', 'robot-rotation') as K8sObject & { rules: Array<Record<string, string[]>> };
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['team-a-pull'], verbs: ['get', 'update'] }]);
    const pod = jobPod().spec;
    const binding = find(objects, 'RoleBinding', 'robot-rotation') as K8sObject & { subjects: Array<{ name: string; namespace: string }> };
    assert.equal(binding.subjects[0]!.name, pod.serviceAccountName);
    assert.equal(binding.subjects[0]!.namespace, 'team-a');
    const script = pod.initContainers[0]!.args.join(' ');
    assert.match(script, /robot rotate robot:team-a\+puller --overlap 24h\s+-o dockerconfigjson --registry/);
    assert.match(script, /name: "team-a-pull"/);
    assert.deepEqual(pod.containers[0]!.args, ['replace', '--filename=/work/secret.json']);
  });

  it('the job rotates with a scoped API token from its own namespace, never the admin token', () => {
    const pod = jobPod().spec;
    const env = pod.initContainers[0]!.env;
    assert.equal(env.find((e) => e.name === 'TOLLGATE_AUTHZ_TOKEN_FILE')?.value, '/etc/tollgate/api/token');
    assert.ok(!env.some((e) => /ADMIN/.test(e.name)), 'no admin token variable');
    const mount = pod.initContainers[0]!.volumeMounts.find((m) => m.mountPath === '/etc/tollgate/api')!;
    assert.equal(pod.volumes.find((v) => v.name === mount.name)?.secret?.secretName, 'tollgate-rotation-token');
    const tenant = JSON.stringify(objects.filter((o) => o.metadata.namespace !== 'tollgate'));
    assert.doesNotMatch(tenant, /admin[-_.]?token|ADMIN_TOKEN/i, 'nothing in team-a names the admin token');
  });

  it('the NetworkPolicy admits exactly the job\'s pods from team-a to authz\'s port', () => {
    const np = find(objects, 'NetworkPolicy', 'tollgate-authz-robot-rotation-team-a') as K8sObject & {
      spec: { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ from: Array<Record<string, { matchLabels: Record<string, string> }>>; ports: Array<{ port: number }> }> };
    };
    const base = render('k8s');
    const authz = deployment(base, 'tollgate-authz');
    for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) assert.equal(authz.spec!.template.metadata!.labels![k], v, 'selects the authz pods');
    const port = (authz.spec!.template.spec!.containers[0] as { ports?: Array<{ containerPort: number }> }).ports?.[0]?.containerPort;
    assert.deepEqual(np.spec.ingress.map((r) => r.ports.map((p) => p.port)), [[port ?? 5001]]);
    assert.equal(np.spec.ingress[0]!.from.length, 1, 'one peer: namespace AND pod selector together');
    const peer = np.spec.ingress[0]!.from[0]!;
    assert.deepEqual(peer.namespaceSelector!.matchLabels, { 'kubernetes.io/metadata.name': 'team-a' });
    assert.deepEqual(peer.podSelector!.matchLabels, jobPod().metadata.labels);
  });
});
