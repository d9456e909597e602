/** Failed-login throttle per (account, client IP). STUB: replaced by the credentials owner. */
import type { LoginThrottle } from '../credentials/backend.js';

export interface ThrottleOptions {
  /** Failures allowed before any delay. */
  freeAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
}

export function createLoginThrottle(opts: ThrottleOptions = {}): LoginThrottle {
  void opts;
  return { check: () => ({ allowed: true }), recordFailure: () => undefined, recordSuccess: () => undefined };
}
