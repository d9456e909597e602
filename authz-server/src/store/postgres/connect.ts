/**
 * How the PostgreSQL engine connects: the `--db` URL (libpq-style, `sslmode=verify-full&sslrootcert=CA`
 * honoured by pg), a password from `--db-password-file` that wins over the URL's, and the standard
 * `PG*` variables for whatever the URL leaves out. Bounded timeouts everywhere: a database that does not
 * answer turns into a quick error (503), never a request that hangs.
 */
import pg from 'pg';

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

export interface PgOptions {
  url: string;
  /** From --db-password-file; overrides the URL's password. */
  password?: string | undefined;
  /** Connecting gives up after this long. */
  connectTimeoutMs?: number;
  /** Every query gives up after this long (client side) and is cancelled server side. */
  queryTimeoutMs?: number;
  poolSize?: number;
}

/** The URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

// int8 (count(*), bigint ids) as numbers: ids and counts stay far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function clientConfig(o: PgOptions, applicationName: string): pg.ClientConfig {
  return {
    connectionString: o.password === undefined ? o.url : withPassword(o.url, o.password),
    connectionTimeoutMillis: o.connectTimeoutMs ?? 2000,
    query_timeout: o.queryTimeoutMs ?? 5000,
    statement_timeout: o.queryTimeoutMs ?? 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 1000,
    application_name: applicationName,
    types,
  };
}

// pg lets the connection string's fields override explicit ones, so the password goes into the URL.
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** One line saying why the database cannot be used, naming where (password never included). */
export function describeConnectError(e: unknown, url: string): string {
  const err = e as { code?: string; message?: string };
  const where = redactUrl(url);
  const msg = String(err.message ?? e).split('\n')[0];
  switch (err.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach PostgreSQL at ${where}: unknown host (${msg})`;
    case 'ECONNREFUSED':
      return `cannot reach PostgreSQL at ${where}: connection refused, nothing listens on that host and port`;
    case '28P01':
    case '28000':
      return `cannot log in to PostgreSQL at ${where}: ${msg} (check the user and --db-password-file / PGPASSWORD)`;
    case '3D000':
      return `cannot open PostgreSQL database at ${where}: ${msg}`;
    default:
      return `cannot use PostgreSQL at ${where}: ${msg}`;
  }
}
