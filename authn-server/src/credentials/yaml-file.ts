/**
 * A credentials file an admin writes (users file, issuers file), read one way: YAML with unique keys, the first
 * YAML error on one line, the file's own pre-check (`__proto__` keys, which would vanish inside zod's output),
 * then the schema, its problems named by path (first ten) so a typo says where it is.
 */
import { parseDocument } from 'yaml';
import type { z } from 'zod';

export function parseYamlFile<T extends z.ZodType>(text: string, schema: T, precheck: (data: unknown) => void): z.output<T> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first) throw new Error(`YAML error: ${(first.message.split('\n')[0] ?? '').replace(/:$/, '')}`);
  const data: unknown = doc.toJS() ?? {};
  precheck(data);
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
