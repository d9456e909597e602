/**
 * k8s/: renders with kustomize, every object is valid against the Kubernetes schemas, and every pod
 * is locked down (non-root, read-only root fs, no privilege escalation, requests + limits, probes).
 */
import assert from 'node:assert/strict';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { allContainers, deployment, render, validateObject, type K8sObject } from './helpers/k8s.js';


for (const dir of ['k8s', 'k8s/overlays/production']) {
  describe(`kubectl kustomize ${dir}`, () => {
    let objects: K8sObject[];
    before(() => {
      objects = render(dir);
    });

    it('renders the expected objects, all in namespace tollgate', () => {
      const names = objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
      for (const want of [
        'Namespace/tollgate',
        'Deployment/tollgate-authz', 'Service/tollgate-authz', 'PersistentVolumeClaim/tollgate-authz-data', 'NetworkPolicy/tollgate-authz',
        'Deployment/tollgate-authn', 'Service/tollgate-authn', 'PodDisruptionBudget/tollgate-authn',
        'Deployment/tollgate-registry', 'Service/tollgate-registry', 'PersistentVolumeClaim/tollgate-registry-data',
        'ConfigMap/tollgate-registry-config', 'ConfigMap/tollgate-settings',
      ]) {
        assert.ok(names.includes(want), `${want} missing from ${names.join(', ')}`);
      }
      // Cluster-scoped kinds have no namespace.
      for (const o of objects.filter((x) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(x.kind))) assert.equal(o.metadata.namespace, 'tollgate', `${o.kind}/${o.metadata.name}`);
    });

    it('every object validates against the Kubernetes schema (kubernetes-models)', () => {
      for (const o of objects) {
        assert.doesNotThrow(() => validateObject(o), `${o.kind}/${o.metadata.name}`);
      }
    });

    it('the schema check is live: a broken copy of a rendered Deployment, Service or PVC is rejected', () => {
      const copy = (kind: string) => structuredClone(objects.find((o) => o.kind === kind)) as K8sObject & { spec: Record<string, unknown> };
      const d = copy('Deployment');
      d.spec.replicas = 'two';
      assert.throws(() => validateObject(d));
      const svc = copy('Service');
      (svc.spec.ports as Array<Record<string, unknown>>)[0] = { name: 'http' };
      assert.throws(() => validateObject(svc));
      const pvc = copy('PersistentVolumeClaim');
      pvc.spec.accessModes = 'ReadWriteOnce';
      assert.throws(() => validateObject(pvc));
    });

    it('every object carries the component label the ordered deploy selects on', () => {
      for (const o of objects.filter((x) => x.kind !== 'Ingress')) {
        assert.match(o.metadata.labels?.['app.kubernetes.io/component'] ?? '', /^(shared|authz|authn|registry|controller)$/, `${o.kind}/${o.metadata.name}`);
      }
    });

    describe('pod security', () => {
      const each = (fn: (d: IDeployment, name: string) => void) => () => {
        // Every rendered Deployment (the production overlay adds the controller's).
        for (const name of objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)) fn(deployment(objects, name), name);
      };

      it('pods run as non-root with the RuntimeDefault seccomp profile and no service-account token', each((d, name) => {
        const pod = d.spec?.template.spec;
        assert.equal(pod?.securityContext?.runAsNonRoot, true, name);
        assert.ok((pod?.securityContext?.runAsUser ?? 0) > 0, `${name}: runAsUser must not be 0`);
        assert.equal(pod?.securityContext?.seccompProfile?.type, 'RuntimeDefault', name);
        assert.equal(pod?.automountServiceAccountToken, false, name);
      }));

      it('every container, init containers included: read-only root fs, no privilege escalation, all capabilities dropped', each((d, name) => {
        for (const { c } of allContainers(d)) {
          const sc = c.securityContext;
          const where = `${name}/${c.name}`;
          assert.equal(sc?.readOnlyRootFilesystem, true, where);
          assert.equal(sc?.allowPrivilegeEscalation, false, where);
          assert.equal(sc?.runAsNonRoot, true, where);
          assert.notEqual(sc?.privileged, true, where);
          assert.deepEqual(sc?.capabilities?.drop, ['ALL'], where);
          assert.equal(sc?.runAsUser === 0, false, where);
        }
      }));

      it('every container, init containers included: cpu and memory requests and limits', each((d, name) => {
        for (const { c } of allContainers(d)) {
          for (const kind of ['requests', 'limits'] as const) {
            for (const res of ['cpu', 'memory']) {
              assert.ok(c.resources?.[kind]?.[res] !== undefined, `${name}/${c.name}: resources.${kind}.${res}`);
            }
          }
        }
      }));

      it('every long-running container has HTTP liveness and readiness probes on a declared port', each((d, name) => {
        // Init containers cannot carry probes (the API rejects them); they are bounded by their wait loop.
        for (const { c, init } of allContainers(d)) {
          if (init) {
            assert.equal(c.readinessProbe ?? c.livenessProbe, undefined, `${name}/${c.name}`);
            continue;
          }
          const ports = new Set((c.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
          for (const probe of [c.readinessProbe, c.livenessProbe]) {
            assert.ok(probe?.httpGet, `${name}/${c.name}: probe missing`);
            assert.ok(ports.has(probe.httpGet.port), `${name}/${c.name}: probe port ${probe.httpGet.port} not declared`);
          }
        }
      }));

      it('every volume mount refers to a volume the pod declares', each((d, name) => {
        const volumes = new Set((d.spec?.template.spec?.volumes ?? []).map((v) => v.name));
        for (const { c } of allContainers(d)) {
          for (const m of c.volumeMounts ?? []) assert.ok(volumes.has(m.name), `${name}/${c.name}: mount ${m.name} has no volume`);
        }
      }));
    });
  });
}
