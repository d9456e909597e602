/** Splits `HOST:PORT` (or `[v6]:PORT`) for `server.listen`. Throws naming the bad value. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid listen address "${value}" (expected HOST:PORT, e.g. 127.0.0.1:5001)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
