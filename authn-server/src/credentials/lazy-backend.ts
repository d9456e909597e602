/**
 * A backend whose code loads on the first user name it could know (`handles`): a server that never sees
 * one never loads it (robots: only `robot:` names). Until then it answers `no-match` / `null` and is ready.
 * A failed load rejects that request (503) and is retried on the next one.
 */
import type { CredentialBackend } from './backend.js';

export function lazyBackend(name: string, handles: (user: string) => boolean, load: () => Promise<CredentialBackend>): CredentialBackend {
  let loading: Promise<CredentialBackend> | undefined;
  let loaded: CredentialBackend | undefined;
  const get = (): Promise<CredentialBackend> =>
    (loading ??= load().then(
      (b) => (loaded = b),
      (e: unknown) => {
        loading = undefined;
        throw e;
      },
    ));
  return {
    name,
    async authenticate(user, password, client) {
      if (!handles(user)) return { kind: 'no-match' };
      return (await get()).authenticate(user, password, client);
    },
    async lookup(user) {
      if (!handles(user)) return null;
      return (await get()).lookup(user);
    },
    ready: () => loaded?.ready?.() ?? true,
    close() {
      if (loading) void loading.then((b) => b.close?.(), () => undefined);
    },
  };
}
