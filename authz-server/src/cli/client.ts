/**
 * The admin CLI's HTTP client: axios against `--url` with the admin token (or a scoped API token)
 * from `--token-file` or env, and one place that turns every failure into a clear message and a non-zero exit. axios is
 * loaded when a command first needs it: `tollgate authn serve` / `authz serve` register these commands
 * too and must not carry axios (≈ 25 MB of RSS) for nothing.
 */
import type { AxiosError, AxiosInstance } from 'axios';
import type { Command } from 'commander';
import { readSecretFile } from '../../../common/secret.js';

export const DEFAULT_URL = 'http://127.0.0.1:5001';

export interface ClientOptions {
  url?: string;
  tokenFile?: string;
}

/** Adds `--url` and `--token-file` to a command. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', `authz-server base URL (env TOLLGATE_AUTHZ_URL, default ${DEFAULT_URL})`)
    .option('--token-file <file>', 'file holding the admin token or a scoped API token (env TOLLGATE_AUTHZ_TOKEN_FILE or TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE, or the token itself in TOLLGATE_AUTHZ_ADMIN_TOKEN)');
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface Client {
  http: AxiosInstance;
  url: string;
}

export async function createClient(opts: ClientOptions, env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const url = (opts.url ?? env.TOLLGATE_AUTHZ_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  let token: string | undefined;
  try {
    const file = opts.tokenFile ?? env.TOLLGATE_AUTHZ_TOKEN_FILE ?? env.TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE;
    token = file ? readSecretFile(file, 'authz token') : env.TOLLGATE_AUTHZ_ADMIN_TOKEN?.trim() || undefined;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const { default: axios } = await import('axios');
  const http = axios.create({
    baseURL: url,
    timeout: 30_000,
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    // A 403 is a refusal too (an API token outside its scope): reported, non-zero exit.
    validateStatus: (s) => s < 400,
  });
  return { http, url };
}

interface ServerError {
  error?: { code?: string; message?: string; field?: string };
}

/** axios's own `isAxiosError`, without loading axios to ask. */
const isAxiosError = (e: unknown): e is AxiosError => (e as { isAxiosError?: unknown } | null)?.isAxiosError === true;

/** A message for any request failure: the server's own words, or why it could not be reached. */
export function describeError(e: unknown, url: string): string {
  if (e instanceof CliError) return e.message;
  if (!isAxiosError(e)) return (e as Error)?.message ?? String(e);
  const res = e.response;
  if (res) {
    const body = res.data as ServerError | undefined;
    const msg = body?.error?.message ?? `HTTP ${res.status}`;
    const hint = res.status === 401 ? ' (pass --token-file FILE or set TOLLGATE_AUTHZ_ADMIN_TOKEN / TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE / TOLLGATE_AUTHZ_TOKEN_FILE)' : '';
    return `authz-server refused (${res.status}${body?.error?.code ? ` ${body.error.code}` : ''}): ${msg}${hint}`;
  }
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EHOSTUNREACH' || e.code === 'ECONNRESET') {
    return `cannot reach authz-server at ${url} (${e.code}); is it running? (set --url or TOLLGATE_AUTHZ_URL)`;
  }
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') return `authz-server at ${url} did not answer in time`;
  return `request to ${url} failed: ${e.message}`;
}

/** Wraps a command action: prints errors to stderr and sets a non-zero exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const cmd = args[args.length - 1] as Command | undefined;
      const url = (cmd?.opts?.() as ClientOptions | undefined)?.url ?? process.env.TOLLGATE_AUTHZ_URL ?? DEFAULT_URL;
      process.stderr.write(`error: ${describeError(e, url)}\n`);
      process.exitCode = e instanceof CliError ? e.exitCode : 1;
    }
  };
}

export const collect = (value: string, previous: string[]): string[] => [...previous, value];
