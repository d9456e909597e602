/**
 * Loads a config file and re-applies it when it changes, keeping the last good content when a new one is bad.
 *
 * Change detection is belt and braces because Kubernetes Secret/ConfigMap mounts do not modify the file: they
 * write a new timestamped directory and atomically swap the `..data` symlink, so a watch on the file itself
 * goes silent after the first swap.
 * - `fs.watch` on the parent directory (debounced): any event there triggers a check; events naming the file
 *   or a `..`-prefixed entry force a content read even if stat looks unchanged (coarse mtime filesystems).
 * - A periodic `stat` (following symlinks): a changed dev/inode/size/mtime triggers a content read.
 * - A SHA-256 of the content decides whether anything really changed, so touching a file is not a reload.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../../../common/logger.js';

export interface WatchOptions {
  /** Periodic stat check (ms); 0 disables it. Default 5000. */
  pollMs?: number;
  /** Quiet time after the last directory event before checking (ms). Default 100. */
  debounceMs?: number;
  /** Use `fs.watch` on the directory. Default true. */
  watch?: boolean;
}

const WATCH_DEFAULTS = { pollMs: 5000, debounceMs: 100, watch: true } as const;

/** Bigger files are refused: a users file is kilobytes, and reading it must not exhaust memory. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface WatchedFile {
  /** Checks now (`full`: read and hash the content even if stat is unchanged). Resolves when done. */
  check(full?: boolean): Promise<void>;
  close(): void;
}

/** Parses and installs new content, returning fields for the log line; throws (with a reason) to reject it. */
export type ApplyFn = (text: string) => Record<string, unknown>;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const signature = (st: Stats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;

function readInitial(path: string, what: string): { text: string; sig: string } {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_FILE_BYTES) throw new Error(`${st.size} bytes is over the ${MAX_FILE_BYTES}-byte limit`);
    return { text: readFileSync(path, 'utf8'), sig: signature(st) };
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/**
 * Applies `path` once, synchronously, throwing `"<what> <path>: <reason>"` when it cannot be read or `apply`
 * rejects it (a server must not start without its users), then watches it.
 */
export function loadAndWatch(path: string, what: string, apply: ApplyFn, logger: Logger, opts: WatchOptions = {}): WatchedFile {
  const initial = readInitial(path, what);
  let summary: Record<string, unknown>;
  try {
    summary = apply(initial.text);
  } catch (e) {
    throw new Error(`invalid ${what} ${path}: ${(e as Error).message}`);
  }
  logger.info({ file: path, ...summary }, `${what} loaded`);

  let lastSig = initial.sig;
  let currentHash = sha256(initial.text);
  let rejectedHash: string | undefined;
  let missingLogged = false;
  let closed = false;
  let running: Promise<void> | undefined;
  let again: boolean | undefined;

  async function checkOnce(full: boolean): Promise<void> {
    let st: Stats;
    try {
      st = await stat(path);
    } catch (e) {
      // Mid-swap or deleted: keep serving what we have; say so once.
      if (!missingLogged) logger.warn({ file: path, reason: (e as Error).message }, `${what} unreadable; keeping the previous content`);
      missingLogged = true;
      return;
    }
    missingLogged = false;
    const sig = signature(st);
    if (!full && sig === lastSig) return;
    if (st.size > MAX_FILE_BYTES) {
      if (sig !== lastSig) logger.error({ file: path, reason: `${st.size} bytes is over the ${MAX_FILE_BYTES}-byte limit` }, `${what} rejected; keeping the previous content`);
      lastSig = sig;
      return;
    }
    const text = await readFile(path, 'utf8');
    lastSig = sig;
    const hash = sha256(text);
    if (hash === currentHash || hash === rejectedHash || closed) return;
    try {
      const fields = apply(text);
      currentHash = hash;
      rejectedHash = undefined;
      logger.info({ file: path, ...fields }, `${what} reloaded`);
    } catch (e) {
      rejectedHash = hash;
      logger.error({ file: path, reason: (e as Error).message }, `${what} rejected; keeping the previous content`);
    }
  }

  // One check at a time; a request arriving meanwhile is folded into one more pass.
  function check(full = false): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = (again ?? false) || full;
      return running;
    }
    running = (async () => {
      let pass: boolean | undefined = full;
      while (pass !== undefined && !closed) {
        again = undefined;
        try {
          await checkOnce(pass);
        } catch (e) {
          logger.warn({ file: path, reason: (e as Error).message }, `${what} check failed; keeping the previous content`);
        }
        pass = again;
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  const pollMs = opts.pollMs ?? WATCH_DEFAULTS.pollMs;
  const timer = pollMs > 0 ? setInterval(() => void check(false), pollMs) : undefined;
  timer?.unref();

  const debounceMs = opts.debounceMs ?? WATCH_DEFAULTS.debounceMs;
  const name = basename(path);
  let debounce: NodeJS.Timeout | undefined;
  let pendingFull = false;
  let watcher: FSWatcher | undefined;
  if (opts.watch ?? WATCH_DEFAULTS.watch) {
    try {
      watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        const f = file?.toString();
        pendingFull ||= !f || f === name || f.startsWith('..');
        if (debounce) clearTimeout(debounce);
        debounce = setTimeout(() => {
          debounce = undefined;
          const full = pendingFull;
          pendingFull = false;
          void check(full);
        }, debounceMs);
        debounce.unref();
      });
      watcher.on('error', (e) => {
        logger.warn({ file: path, reason: e.message }, `${what} watch failed; relying on the periodic check`);
        watcher?.close();
        watcher = undefined;
      });
    } catch (e) {
      logger.warn({ file: path, reason: (e as Error).message }, `${what} cannot be watched; relying on the periodic check`);
    }
  }

  return {
    check,
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      watcher?.close();
      watcher = undefined;
    },
  };
}
