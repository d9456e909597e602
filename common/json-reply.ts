/**
 * JSON reply with node's own ServerResponse API: the same bytes and headers express's `res.json`
 * writes, so both servers' express-free hot paths and their express routes answer alike.
 */
import type { ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
