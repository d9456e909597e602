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
import { z } from 'zod';
import { USERNAME_HINT, userNameProblem } from '../limits.js';
import { parseYamlFile } from '../yaml-file.js';
import { BCRYPT_HASH, BCRYPT_HINT, createFileBackend, type FileBackend, type FileBackendOptions } from './file-backend.js';
import type { UserRecord } from './user-table.js';

const LabelValues = z
  .union([z.string().max(512), z.array(z.string().max(512)).max(64)])
  .transform((v) => (typeof v === 'string' ? [v] : v));

const UserSchema = z
  .object({
    password: z.string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string (a bcrypt hash)') }).regex(BCRYPT_HASH, BCRYPT_HINT),
    labels: z
      .record(z.string().min(1).max(128), LabelValues)
      .nullish()
      .refine((l) => !l || Object.keys(l).length <= 64, 'at most 64 labels')
      .transform((l) => l ?? {}),
  })
  .strict();

const UsersFileSchema = z
  .object({
    users: z
      .record(z.string(), UserSchema)
      .nullish()
      .superRefine((users, ctx) => {
        for (const name of Object.keys(users ?? {})) {
          if (userNameProblem(name)) ctx.addIssue({ code: 'custom', path: [name], message: USERNAME_HINT });
        }
      }),
  })
  .strict();

/** Parses users-file text into records; throws with every problem named by path (first ten). */
function parseUsersFile(text: string): Map<string, UserRecord> {
  const file = parseYamlFile(text, UsersFileSchema);
  const records = new Map<string, UserRecord>();
  for (const [user, u] of Object.entries(file.users ?? {})) records.set(user, { hash: u.password, labels: u.labels });
  return records;
}

/** Loads the users file (throws if it is unreadable or invalid) and keeps it fresh. */
export function createUsersFileBackend(opts: FileBackendOptions): FileBackend {
  return createFileBackend('users-file', 'users file', parseUsersFile, opts);
}
