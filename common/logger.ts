import { pino, type Logger, type DestinationStream } from 'pino';
import { REDACT_PATHS } from './redact.js';

export type { Logger };

/** JSON logger with every credential path redacted. `level: 'silent'` for tests. */
export function createLogger(opts: { name: string; level?: string; destination?: DestinationStream }): Logger {
  const options = { name: opts.name, level: opts.level ?? process.env.TOLLGATE_LOG_LEVEL ?? 'info', redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/**
 * The same logger (destination, level, name) without the catch-all redaction, for lines whose every field
 * the caller chose and bounded — authn's per-token audit line. Why: pino runs the wildcard paths
 * (`*.password`, `*.token`, …) over every top-level value of every line, ≈10 µs per token request, and
 * an audit record has no field those paths could match (it is built from named, non-secret fields).
 */
export function auditLogger(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}
