/**
 * JSON reply with node's own ServerResponse API: the same bytes and headers express's `res.json`
 * writes, so both servers' express-free hot paths and their express routes answer alike.
 */
import type { ServerResponse } from 'node:http';

/**
 * `extra`: more headers as a flat [name, value, …] list. All headers go to `writeHead` as one flat list:
 * node then stores them as given, without the per-header bookkeeping of `setHeader` (hot paths).
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, extra: readonly string[] = []): void {
  // Encoded once: its length is the header, and the socket gets the bytes without encoding the string again.
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, ['Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(bytes.length), ...extra]);
  res.end(bytes);
}
