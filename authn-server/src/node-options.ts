/**
 * The node options authn-server runs with: a small V8 young generation (two 2 MB semi-spaces instead of up to 16),
 * which keeps it within 100 MB under load (docs/authn.md § Memory). V8 fixes it when the process starts, so it
 * cannot be set from code: `tollgate start` passes it to the authn process it spawns, docker-compose.yml and
 * k8s/base/authn set it in authn's environment (deploy-test/authn-node-options.test.ts keeps them equal), and
 * `npm run bench:authn` starts authn with it. Only authn: authz, the proxy and the controller keep node's default.
 */
export const AUTHN_NODE_OPTIONS = '--max-semi-space-size=2';
