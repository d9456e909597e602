/**
 * k8s/ workload-identity wiring: the component's issuers file is valid for the real parser, every file it
 * names is mounted where authn reads it, and one audience runs through the issuers file, the node RBAC, the
 * kubelet's CredentialProviderConfig and the example pod's projected token.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { API_VERSION } from '../cli/credential-provider/plugin.js';
import { parseIssuersFile } from '../authn-server/src/credentials/oidc/config.js';
import { deployment, find, render, validateObject, type K8sObject } from './helpers/k8s.js';
import { ROOT } from './helpers/run.js';

const example = (f: string) => parseAllDocuments(readFileSync(join(ROOT, 'k8s', 'examples', 'workload-identity', f), 'utf8')).map((d) => d.toJS() as K8sObject);

describe('k8s/ workload identity (component in the production overlay, examples)', () => {
  let prod: K8sObject[];
  before(() => {
    prod = render('k8s/overlays/production');
  });

  it('every rendered object and every example is valid for its schema', () => {
    for (const o of [...prod, ...example('node-rbac.yaml'), ...example('pod.yaml')]) assert.doesNotThrow(() => validateObject(o), `${o.kind}/${o.metadata.name}`);
  });

  it('authn reads the issuers ConfigMap, and the files it names are mounted from the projected token + CA', () => {
    const d = deployment(prod, 'tollgate-authn');
    const pod = d.spec!.template.spec!;
    const authn = pod.containers[0]!;
    assert.ok(authn.args!.includes('--oidc-issuers=/etc/tollgate/oidc/issuers.yaml'));
    assert.equal(pod.serviceAccountName, 'tollgate-authn');
    assert.equal(pod.automountServiceAccountToken, false, 'the token reaches authn only by projection');
    const cm = find(prod, 'ConfigMap', 'tollgate-oidc-issuers') as unknown as { data: Record<string, string> };
    const issuers = parseIssuersFile(cm.data['issuers.yaml']!);
    const mount = (path: string) => authn.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`));
    const volume = (path: string) => pod.volumes!.find((v) => v.name === mount(path)?.name);
    assert.equal(volume('/etc/tollgate/oidc/issuers.yaml')?.configMap?.name, 'tollgate-oidc-issuers');
    for (const i of issuers) {
      const sources = volume(i.bearerTokenFile!)?.projected?.sources ?? [];
      assert.equal(sources.find((s) => s.serviceAccountToken)?.serviceAccountToken?.path, i.bearerTokenFile!.split('/').pop());
      assert.equal(volume(i.caFile!)?.projected?.sources?.find((s) => s.configMap)?.configMap?.name, 'kube-root-ca.crt');
      assert.deepEqual('url' in i.jwks && new URL(i.jwks.url).protocol, 'https:');
    }
    const binding = find(prod, 'ClusterRoleBinding', 'tollgate-authn-issuer-discovery') as unknown as { roleRef: { name: string }; subjects: Array<{ name: string; namespace: string }> };
    assert.equal(binding.roleRef.name, 'system:service-account-issuer-discovery');
    assert.deepEqual(binding.subjects.map((s) => `${s.namespace}/${s.name}`), ['tollgate/tollgate-authn']);
  });

  it('one audience everywhere: issuers file, node RBAC, kubelet config, example pod — the registry host', () => {
    const host = (find(prod, 'ConfigMap', 'tollgate-settings') as unknown as { data: Record<string, string> }).data['registry-host'];
    const cm = find(prod, 'ConfigMap', 'tollgate-oidc-issuers') as unknown as { data: Record<string, string> };
    assert.deepEqual(parseIssuersFile(cm.data['issuers.yaml']!)[0]!.audiences, [host]);
    const role = example('node-rbac.yaml').find((o) => o.kind === 'ClusterRole') as unknown as { rules: Array<{ verbs: string[]; resources: string[] }> };
    assert.deepEqual(role.rules, [{ verbs: ['request-serviceaccounts-token-audience'], apiGroups: [''], resources: [host] }]);
    const cfg = parse(readFileSync(join(ROOT, 'k8s', 'examples', 'workload-identity', 'credential-provider-config.yaml'), 'utf8')) as {
      providers: Array<{ name: string; apiVersion: string; args: string[]; matchImages: string[]; tokenAttributes: Record<string, unknown> }>;
    };
    const p = cfg.providers[0]!;
    assert.equal(p.name, 'tollgate-credential-provider', 'the binary name scripts/build-credential-provider.sh writes');
    assert.equal(p.apiVersion, API_VERSION);
    assert.deepEqual(p.tokenAttributes, { serviceAccountTokenAudience: host, cacheType: 'Token', requireServiceAccount: true });
    assert.deepEqual(p.matchImages, [host]);
    assert.deepEqual(p.args, ['--registry', host]);
    const pod = example('pod.yaml')[0] as unknown as { spec: { volumes: Array<{ projected: { sources: Array<{ serviceAccountToken: { audience: string } }> } }> } };
    assert.equal(pod.spec.volumes[0]!.projected.sources[0]!.serviceAccountToken.audience, host);
  });
});
