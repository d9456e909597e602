/**
 * Request targets that try to reach another namespace (`team-b`) through a request that names, or
 * seems to name, `team-a`: encodings, traversal, case, trailing dots, separators. Shared by the unit
 * test (route.ts refuses each) and the e2e test (each sent raw through the real proxy and registry).
 * `safe` entries are routed, but only to the literal team-a repository.
 */
export const D = `sha256:${'a'.repeat(64)}`;

export const PATH_TRICKS: string[] = [
  '/v2/team-a%2Fapp/manifests/v1',
  '/v2/team-a%2fapp/manifests/v1',
  '/v2/team-b%2Fapp/manifests/v1',
  '/v2/team-a/..%2Fteam-b/app/manifests/v1',
  '/v2/team-a/../team-b/app/manifests/v1',
  '/v2/team-a/./app/manifests/v1',
  '/v2/team-a/app/../../team-b/app/manifests/v1',
  '/v2/team-a%252Fapp/manifests/v1',
  '/v2/team-a/%252e%252e/team-b/app/manifests/v1',
  '/v2/team-a/%2e%2e/team-b/app/manifests/v1',
  '/v2/team-a/%2E%2E/team-b/app/manifests/v1',
  '/v2/Team-A/app/manifests/v1',
  '/v2/team-a/App/manifests/v1',
  '/v2/TEAM-B/app/manifests/v1',
  '/V2/team-b/app/manifests/v1',
  '/v2/team-a./app/manifests/v1',
  '/v2/team-a/app./manifests/v1',
  '/v2/team-b./app/manifests/v1',
  '/v2/team-a//team-b/app/manifests/v1',
  '//v2/team-b/app/manifests/v1',
  '/v2//team-b/app/manifests/v1',
  '/v2/team-a\\..\\team-b/app/manifests/v1',
  '/v2/team-a%5C..%5Cteam-b/app/manifests/v1',
  '/v2/team-b%00/app/manifests/v1',
  '/v2/team-a/app/manifests/v1/../../../team-b/app/manifests/v1',
  'http://127.0.0.1/v2/team-b/app/manifests/v1',
  '/v2/team-a;/team-b/app/manifests/v1',
  '/v2/team-a/app%3F/manifests/v1',
  '/v2/%74eam-b/app/manifests/v1',
  '/v2/team-b%2e/app/manifests/v1',
  '/v2/team-a/app/manifests/v1%2F..%2F..%2Fteam-b%2Fapp',
  '/v2/team-a/app/manifests/..',
  '/v2/team-a/app/tags/list/..%2F..%2F..%2Fteam-b%2Fapp%2Ftags%2Flist',
  '/v2/_catalog/../team-b/app/manifests/v1',
  `/v2/team-a/app/manifests/../blobs/${D}`,
  '/v2/team-a/app/blobs/uploads/..%2F..%2Fteam-b',
  '/v2/team-a/app/manifests/v1%23/../../team-b',
  '/v2/-team-b/app/manifests/v1',
  '/v2/team-b-/app/manifests/v1',
  '/v2/team-a/_app/manifests/v1',
];

/** Routed, and only to `team-a/app` (the query or a harmless form of the name does not move it). */
export const SAFE_TRICKS: string[] = [
  '/v2/team-a/app/manifests/v1?x=/v2/team-b/app/manifests/v1',
  '/v2/team-a/app/tags/list?last=../team-b',
  `/v2/team-a/app/blobs/uploads/?mount=${D}&from=team-b%2F..%2Fteam-c`,
];
