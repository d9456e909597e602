/**
 * The kubelet credential provider (KEP-4412): reads a `CredentialProviderRequest` on stdin and prints a
 * `CredentialProviderResponse` whose password is the pod's service-account token, for tollgate's issuer
 * user name (`k8s` by default).
 *
 * Contract:
 * - `apiVersion` must be `credentialprovider.kubelet.k8s.io/v1` and `kind` `CredentialProviderRequest`;
 *   malformed input → exit 1, one line on stderr, nothing on stdout (the kubelet then pulls without creds).
 * - No `serviceAccountToken` → `auth: {}`, exit 0.
 * - A wildcard `--registry` (`*.example.com`) is refused unless `--allow-wildcard-registry` is given: the
 *   response hands the pod's token to every host the pattern matches, so each must be one of yours.
 * - `cacheDuration` = exp − now − 2 min, at most 10 min, never negative (a token without a readable exp → 0).
 *   The token is not verified here: authn-server does that; this only reads exp for the cache.
 *
 * Node builtins only, no import.meta: scripts/build-credential-provider.sh compiles this one file to
 * CommonJS for a single executable application, which can load no other file.
 */
import { parseArgs } from 'node:util';

export const API_VERSION = 'credentialprovider.kubelet.k8s.io/v1';
export const MAX_CACHE_SEC = 600;
export const EXPIRY_MARGIN_SEC = 120;
const MAX_INPUT_BYTES = 1024 * 1024;

export interface ProviderOptions {
  registries: string[];
  username: string;
}

export interface ProviderFlags {
  registry?: string[] | undefined;
  username?: string | undefined;
  allowWildcardRegistry?: boolean | undefined;
}

export class UsageError extends Error {}

/** `registry.example.com`, `registry.example.com:5000`, `*.example.com`, with an optional path; no scheme. */
const REGISTRY = /^[A-Za-z0-9*.-]+(:\d{1,5})?(\/[^\s]*)?$/;

export function checkOptions(o: ProviderFlags): ProviderOptions {
  const registries = o.registry ?? [];
  if (!registries.length) throw new UsageError('at least one --registry HOST[:PORT] is required');
  for (const r of registries) {
    if (!REGISTRY.test(r)) throw new UsageError(`--registry "${r}" must be HOST[:PORT][/PATH] without a scheme, as in matchImages`);
    if (r.includes('*') && !o.allowWildcardRegistry) {
      throw new UsageError(`--registry "${r}" is a wildcard: the pod's token would go to every host it matches; name each registry, or pass --allow-wildcard-registry if every matching host is yours`);
    }
  }
  const username = o.username ?? 'k8s';
  // Docker reads the user name "<token>" as "the password is an identity token": never use it.
  if (!/^[^:\s]{1,256}$/.test(username) || username === '<token>') throw new UsageError(`--username "${username}" is not usable (no ":" or spaces, not "<token>")`);
  return { registries, username };
}

/** Go's time.Duration.String() for whole seconds below an hour: `0s`, `59s`, `8m0s`. */
export function goDuration(sec: number): string {
  const s = Math.max(0, Math.floor(sec));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

function tokenExp(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload) throw new Error('serviceAccountToken is not a JWT');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new Error('serviceAccountToken is not a JWT (payload is not JSON)');
  }
  const exp = (claims as { exp?: unknown } | null)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
}

/** The response for one request text; throws an Error whose message is the stderr line. */
export function respond(input: string, opts: ProviderOptions, nowSec: number): Record<string, unknown> {
  let req: unknown;
  try {
    req = JSON.parse(input);
  } catch {
    throw new Error('stdin is not a JSON CredentialProviderRequest');
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) throw new Error('stdin is not a JSON object');
  const r = req as { apiVersion?: unknown; kind?: unknown; image?: unknown; serviceAccountToken?: unknown };
  if (r.apiVersion !== API_VERSION) throw new Error(`apiVersion ${JSON.stringify(r.apiVersion)} is not supported (want ${API_VERSION})`);
  if (r.kind !== 'CredentialProviderRequest') throw new Error(`kind ${JSON.stringify(r.kind)} is not CredentialProviderRequest`);
  if (typeof r.image !== 'string' || !r.image) throw new Error('image is missing');
  const base = { apiVersion: API_VERSION, kind: 'CredentialProviderResponse', cacheKeyType: 'Registry' };
  const token = r.serviceAccountToken;
  if (token === undefined || token === null || token === '') return { ...base, cacheDuration: '0s', auth: {} };
  if (typeof token !== 'string') throw new Error('serviceAccountToken is not a string');
  const exp = tokenExp(token);
  const cache = exp === undefined ? 0 : Math.min(MAX_CACHE_SEC, exp - nowSec - EXPIRY_MARGIN_SEC);
  const auth = Object.fromEntries(opts.registries.map((reg) => [reg, { username: opts.username, password: token }]));
  return { ...base, cacheDuration: goDuration(cache), auth };
}

async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stdin) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c as string);
    size += b.length;
    if (size > MAX_INPUT_BYTES) throw new Error(`stdin is larger than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the plugin: 0 with the response on stdout, 1 on bad input, 2 on bad flags (one line on stderr each). */
export async function runProvider(opts: ProviderOptions, io: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }, now = () => Date.now()): Promise<number> {
  try {
    const response = respond(await readAll(io.stdin), opts, Math.floor(now() / 1000));
    io.stdout.write(`${JSON.stringify(response)}\n`);
    return 0;
  } catch (e) {
    io.stderr.write(`tollgate credential-provider: ${(e as Error).message}\n`);
    return 1;
  }
}

/** Entry of the single executable: the same flags as `tollgate credential-provider`. */
export async function main(argv: string[]): Promise<number> {
  let opts: ProviderOptions;
  try {
    const options = { registry: { type: 'string', multiple: true }, username: { type: 'string' }, 'allow-wildcard-registry': { type: 'boolean' } } as const;
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    opts = checkOptions({ registry: values.registry, username: values.username, allowWildcardRegistry: values['allow-wildcard-registry'] });
  } catch (e) {
    process.stderr.write(`tollgate credential-provider: ${(e as Error).message}\nusage: tollgate-credential-provider --registry HOST[:PORT] [--registry …] [--username k8s] [--allow-wildcard-registry]\n`);
    return 2;
  }
  return runProvider(opts, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
}
