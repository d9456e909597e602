/**
 * authn-server's node options (a small V8 young generation, docs/authn.md § Memory) are set where authn runs and
 * only there: its compose service and its k8s Deployment carry exactly AUTHN_NODE_OPTIONS; the image, authz and
 * the registry do not.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { AUTHN_NODE_OPTIONS } from '../authn-server/src/node-options.js';
import { deployment, render } from './helpers/k8s.js';
import { ROOT } from './helpers/run.js';

describe('authn-server node options (compose, k8s, image)', () => {
  it('docker-compose.yml gives NODE_OPTIONS to the authn service only, equal to AUTHN_NODE_OPTIONS', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { environment?: Record<string, string> }> };
    assert.equal(compose.services.authn?.environment?.NODE_OPTIONS, AUTHN_NODE_OPTIONS);
    for (const [name, svc] of Object.entries(compose.services)) if (name !== 'authn') assert.equal(svc.environment?.NODE_OPTIONS, undefined, name);
  });

  it('the k8s authn Deployment sets it (base and production overlay); authz and the registry do not', () => {
    for (const dir of ['k8s', 'k8s/overlays/production']) {
      const objects = render(dir);
      const env = (name: string) => deployment(objects, name).spec?.template.spec?.containers.find((c) => c.name === name.replace('tollgate-', ''))?.env ?? [];
      assert.equal(env('tollgate-authn').find((e) => e.name === 'NODE_OPTIONS')?.value, AUTHN_NODE_OPTIONS, `${dir}: authn`);
      for (const other of ['tollgate-authz', 'tollgate-registry']) assert.equal(env(other).find((e) => e.name === 'NODE_OPTIONS'), undefined, `${dir}: ${other}`);
    }
  });

  it('the image sets no NODE_OPTIONS for every process it runs', () => {
    assert.doesNotMatch(readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/^#.*$/gm, ''), /NODE_OPTIONS/);
  });
});
