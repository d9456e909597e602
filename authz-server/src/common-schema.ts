/**
 * Field schemas more than one domain checks the same way, so each rule is written once: a Kubernetes
 * namespace name (robots; the namespace an API token binds in) and a bounded duration (a robot's ttl and
 * overlap, an API token's ttl).
 */
import { z } from 'zod';
import { parsedString } from '../../common/config-fields.js';
import { parseDurationSeconds } from '../../common/duration.js';
import { DNS_LABEL } from '../../common/names.js';

export const K8sNamespaceSchema = z.string().regex(DNS_LABEL, 'must be a Kubernetes namespace name (RFC 1123 label: a-z, 0-9, "-", at most 63)');

/** A duration (`90d`, `12h`, or seconds as a number) within [min, max] seconds. */
export const durationIn = (min: number, max: number, what: string) =>
  z
    .union([z.string().max(32), z.number().int()])
    .pipe(z.union([z.number(), parsedString(parseDurationSeconds)]))
    // Not a number: the duration did not parse, and that issue is already the field's message.
    .refine((s) => typeof s !== 'number' || (s >= min && s <= max), `${what} must be between ${min}s and ${max}s (${max / 86400} days)`);
