/**
 * Puts an API refusal beside the control that caused it: the error's `field` (a zod path such as
 * `permissions[0].actions`) is matched to the form's controls by its first segment; anything else
 * goes to the form's own alert (key `form`).
 */
import { ApiError } from '../api.js';

export type Errors = Record<string, string>;

export function errorsFrom(e: unknown, fields: Record<string, string>): Errors {
  if (!(e instanceof ApiError)) return { form: e instanceof Error ? e.message : String(e) };
  const head = (e.field ?? '').split(/[.[]/)[0] ?? '';
  const key = fields[head];
  return key ? { [key]: e.message } : { form: e.message };
}
