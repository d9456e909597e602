/**
 * A credentials file an admin writes (users file, issuers file), read one way: YAML with unique keys, the first
 * YAML error on one line, no `__proto__` key at any depth (it would vanish inside zod's output: a user or label
 * silently dropped), then the schema, its problems named by path (first ten) so a typo says where it is.
 */
import { parseDocument } from 'yaml';
import type { z } from 'zod';

/** A `__proto__` key would vanish inside zod's output: refuse it, naming its path. */
function refuseProtoKeys(v: unknown, path: string[]): void {
  if (v === null || typeof v !== 'object') return;
  if (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) throw new Error(`${[...path, '__proto__'].join('.')}: "__proto__" is not allowed as a key`);
  for (const [k, child] of Object.entries(v)) refuseProtoKeys(child, [...path, k]);
}

export function parseYamlFile<T extends z.ZodType>(text: string, schema: T): z.output<T> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first) throw new Error(`YAML error: ${(first.message.split('\n')[0] ?? '').replace(/:$/, '')}`);
  const data: unknown = doc.toJS() ?? {};
  refuseProtoKeys(data, []);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues
        .slice(0, 10)
        .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`)
        .join('; '),
    );
  }
  return parsed.data;
}
