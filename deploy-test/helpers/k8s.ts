/** Renders k8s/ with the real kubectl (kustomize) and validates objects with kubernetes-models. */
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Pod } from 'kubernetes-models/v1/Pod';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ROOT, run } from './run.js';

/** A rendered object, loosely typed; `validateObject` checks it against the real schema. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Pod': Pod,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'batch/v1/CronJob': CronJob,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': CustomResourceDefinition,
};

/** Why kubectl cannot render k8s/ here (missing, or its embedded kustomize is older than v5), or undefined. */
export function kubectlMissingHint(): string | undefined {
  const res = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    return 'kubectl is required to render k8s/ (the machine image ships it; scripts/install-e2e-deps.sh tries to install it)';
  }
  // k8s/ uses `labels` with includeTemplates and `replacements`: kustomize v5 (kubectl >= 1.27).
  const kustomize = (JSON.parse(res.stdout) as { kustomizeVersion?: string }).kustomizeVersion ?? 'unknown';
  const major = Number(/^v(\d+)\./.exec(kustomize)?.[1] ?? 0);
  return major >= 5 ? undefined : `kubectl embeds kustomize ${kustomize}; k8s/ needs kustomize v5 or newer (kubectl >= 1.27)`;
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** `kubectl kustomize <dir>` (dir relative to the repo), parsed. */
export function render(dir: string): K8sObject[] {
  const hint = kubectlMissingHint();
  if (hint) throw new Error(hint);
  const res = spawnSync('kubectl', ['kustomize', dir], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  if (res.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${res.stderr}`);
  return parseObjects(res.stdout);
}

/** Throws with the schema errors when the object is not a valid object of its kind. */
export function validateObject(o: K8sObject): void {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind} (${o.metadata.name}): add it to deploy-test/helpers/k8s.ts`);
  new Model(o as never).validate();
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  // Generated ConfigMaps carry a content hash suffix.
  const o = objects.find((x) => x.kind === kind && (x.metadata.name === name || x.metadata.name.startsWith(`${name}-`)));
  if (!o) throw new Error(`${kind}/${name} is not rendered`);
  return o;
}

export function deployment(objects: K8sObject[], name: string): IDeployment {
  return find(objects, 'Deployment', name) as unknown as IDeployment;
}

export function allContainers(d: IDeployment): Array<{ c: IContainer; init: boolean }> {
  const spec = d.spec?.template.spec;
  return [...(spec?.initContainers ?? []).map((c) => ({ c, init: true })), ...(spec?.containers ?? []).map((c) => ({ c, init: false }))];
}

/**
 * The Secrets and ConfigMaps `scripts/k8s-deploy.sh --render-secrets` makes from fresh dev keys
 * (`gen-certs.sh` into `dir/certs`, an empty users file): what the deploy script would apply.
 */
export function renderSecrets(dir: string): K8sObject[] {
  const certs = join(dir, 'certs');
  const gen = run('bash', [join(ROOT, 'scripts', 'gen-certs.sh'), '--out', certs]);
  assert.equal(gen.status, 0, gen.stderr);
  writeFileSync(join(certs, 'users.yaml'), 'users: {}\n');
  const res = run('bash', [join(ROOT, 'scripts', 'k8s-deploy.sh'), '--render-secrets', '--certs', certs]);
  assert.equal(res.status, 0, res.stderr);
  return parseObjects(res.stdout);
}
