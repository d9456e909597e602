/**
 * k8s/overlays/postgres: authz on PostgreSQL — three replicas, rolling updates that keep every replica
 * ready (maxUnavailable 0), a PodDisruptionBudget, spread over nodes, the database URL and password
 * from a Secret, and no volume claim for authz.
 */
import assert from 'node:assert/strict';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { deployment, render, validateObject, type K8sObject } from './helpers/k8s.js';

describe('kubectl kustomize k8s/overlays/postgres', () => {
  let objects: K8sObject[];
  let authz: IDeployment;
  before(() => {
    objects = render('k8s/overlays/postgres');
    authz = deployment(objects, 'tollgate-authz');
  });

  it('every object validates; authz has no PVC and mounts no data volume', () => {
    for (const o of objects) assert.doesNotThrow(() => validateObject(o), `${o.kind}/${o.metadata.name}`);
    assert.equal(objects.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === 'tollgate-authz-data'), false);
    const vols = authz.spec?.template.spec?.volumes ?? [];
    assert.equal(vols.some((v) => v.persistentVolumeClaim), false, JSON.stringify(vols));
  });

  it('three replicas, RollingUpdate with maxUnavailable 0, PDB keeping two, spread over nodes', () => {
    assert.equal(authz.spec?.replicas, 3);
    assert.deepEqual(authz.spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'tollgate-authz') as K8sObject & { spec: { minAvailable: number; selector: unknown } };
    assert.equal(pdb.spec.minAvailable, 2);
    assert.deepEqual(pdb.spec.selector, { matchLabels: { 'app.kubernetes.io/name': 'tollgate-authz' } });
    const spread = authz.spec?.template.spec?.topologySpreadConstraints ?? [];
    assert.ok(spread.some((s) => s.topologyKey === 'kubernetes.io/hostname' && s.whenUnsatisfiable === 'DoNotSchedule'), JSON.stringify(spread));
  });

  it('database URL from the Secret (env), password file from the same Secret; no SQLite --db left', () => {
    const c = authz.spec?.template.spec?.containers[0];
    const env = c?.env?.find((e) => e.name === 'TOLLGATE_AUTHZ_DB');
    assert.deepEqual(env?.valueFrom?.secretKeyRef, { name: 'tollgate-authz-postgres', key: 'url' });
    assert.ok(c?.args?.includes('--db-password-file=/etc/tollgate/postgres/password'), JSON.stringify(c?.args));
    assert.equal(c?.args?.some((a) => a.startsWith('--db=')), false, 'a --db flag would win over the Secret');
    const mount = c?.volumeMounts?.find((m) => m.mountPath === '/etc/tollgate/postgres');
    const vol = authz.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
    assert.equal(vol?.secret?.secretName, 'tollgate-authz-postgres');
  });
});
