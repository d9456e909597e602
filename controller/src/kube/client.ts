/**
 * The controller's Kubernetes API access: tollgate's one client (common/kube/client.ts — keep-alive agent,
 * bounded calls, token re-read per call) and the paths of the resources the controller touches. The calls
 * it makes are limited to GET (and list/watch through the reflector), POST, PUT with the resourceVersion
 * read, PATCH as `application/merge-patch+json`, and DELETE.
 */
export { ApiError, KubeClient, statusMessage, type ApiConnection, type ApiReply, type Method } from '../../../common/kube/client.js';

/** Paths of the resources the controller touches. */
export const paths = {
  crs: (ns?: string) => `/apis/registry.tollgate.dev/v1alpha1${ns ? `/namespaces/${ns}` : ''}/registrycredentials`,
  cr: (ns: string, name: string) => `/apis/registry.tollgate.dev/v1alpha1/namespaces/${ns}/registrycredentials/${name}`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  serviceAccount: (ns: string, name: string) => `/api/v1/namespaces/${ns}/serviceaccounts/${name}`,
  token: (ns: string, sa: string) => `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
  events: (ns: string) => `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
  leases: (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
  lease: (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
};
