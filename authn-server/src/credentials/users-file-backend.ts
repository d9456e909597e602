/**
 * Users file backend (docker_auth's static users, in YAML):
 *
 *   users:
 *     alice:
 *       password: "$2y$10$…"        # bcrypt only ($2a$, $2b$, $2y$)
 *       labels: {team: [a, b]}      # optional; sent to /authorized
 *
 * Rules: unknown keys are errors (a typo must not silently drop a field); every error names its path
 * (`users.alice.password: …`); duplicate keys are errors; the file is reloaded when it changes.
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { BCRYPT_HASH, BCRYPT_HINT, USERNAME, USERNAME_HINT, createFileBackend, type FileBackend, type FileBackendOptions } from './file-backend.js';
import type { UserRecord } from './user-table.js';

const LabelValues = z
  .union([z.string().max(512), z.array(z.string().max(512)).max(64)])
  .transform((v) => (typeof v === 'string' ? [v] : v));

const UserSchema = z
  .object({
    password: z.string({ error: 'is required' }).regex(BCRYPT_HASH, BCRYPT_HINT),
    labels: z
      .record(z.string().min(1).max(128), LabelValues)
      .nullish()
      .refine((l) => !l || Object.keys(l).length <= 64, 'at most 64 labels')
      .transform((l) => l ?? {}),
  })
  .strict();

const UsersFileSchema = z
  .object({
    users: z.record(z.string().regex(USERNAME, USERNAME_HINT), UserSchema).nullish(),
  })
  .strict();

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`)
    .join('; ');
}

/** Parses users-file text into records; throws with every problem named by path (first ten). */
export function parseUsersFile(text: string): Map<string, UserRecord> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new Error(`YAML syntax error at line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  const data: unknown = doc.toJS() ?? {};
  const parsed = UsersFileSchema.safeParse(data);
  if (!parsed.success) throw new Error(formatIssues(parsed.error));
  const records = new Map<string, UserRecord>();
  for (const [user, u] of Object.entries(parsed.data.users ?? {})) records.set(user, { hash: u.password, labels: u.labels });
  return records;
}

/** Loads the users file (throws if it is unreadable or invalid) and keeps it fresh. */
export function createUsersFileBackend(opts: FileBackendOptions): FileBackend {
  return createFileBackend('users-file', 'users file', parseUsersFile, opts);
}
