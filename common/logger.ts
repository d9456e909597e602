import { pino, type Logger, type DestinationStream } from 'pino';
import { REDACT_PATHS } from './redact.js';

export type { Logger };

/** JSON logger with every credential path redacted. `level: 'silent'` for tests. */
export function createLogger(opts: { name: string; level?: string; destination?: DestinationStream }): Logger {
  const options = { name: opts.name, level: opts.level ?? process.env.TOLLGATE_LOG_LEVEL ?? 'info', redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
