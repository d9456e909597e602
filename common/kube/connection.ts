/**
 * Where the Kubernetes API is, for every tollgate part that talks to it (authn's Secret backend, the
 * controller): `--k8s-api-url` (+ `--k8s-token-file`, `--k8s-ca-file`), else in-cluster
 * (KUBERNETES_SERVICE_HOST/PORT, the mounted service-account token — re-read per request because it
 * rotates — and the mounted CA). Fails at start with a message saying what is missing.
 */
import { readFileSync } from 'node:fs';

export interface ApiConnection {
  /** Base URL, e.g. https://10.0.0.1:443 (no trailing path). */
  baseUrl: URL;
  tokenFile?: string | undefined;
  /** PEM CA bundle for https. */
  ca?: Buffer | undefined;
}

export interface ConnectionFlags {
  apiUrl?: string | undefined;
  tokenFile?: string | undefined;
  caFile?: string | undefined;
}

export const IN_CLUSTER = {
  tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
  caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
} as const;

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read the Kubernetes API CA from ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `who` prefixes the not-in-a-cluster message with the flag or command that needs the API. */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env, who = '--k8s-secrets'): ApiConnection {
  if (flags.apiUrl) {
    return { baseUrl: new URL(flags.apiUrl), tokenFile: flags.tokenFile, ca: flags.caFile ? readCa(flags.caFile) : undefined };
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error(`${who}: not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); pass --k8s-api-url`);
  const h = host.includes(':') ? `[${host}]` : host;
  return { baseUrl: new URL(`https://${h}:${port}`), tokenFile: flags.tokenFile ?? IN_CLUSTER.tokenFile, ca: readCa(flags.caFile ?? IN_CLUSTER.caFile) };
}
