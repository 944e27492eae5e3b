import type { EpochMs } from '../time/units.js';

/** One stored measurement. `(metricId, ts)` is its identity: writing it again overwrites `value`. */
export interface Point {
  readonly metricId: string;
  readonly ts: EpochMs;
  readonly value: number;
}

export const MAX_METRIC_ID_LENGTH = 255;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Lone UTF-16 halves, and U+FFFD, which stands where undecodable bytes were: either would make two ids one. */
const NOT_WELL_FORMED = /[\uD800-\uDFFF\uFFFD]/u;

/** What is wrong with `id` as a metric id, or undefined when it is a valid one. */
export function metricIdProblem(id: string): string | undefined {
  if (id.length > MAX_METRIC_ID_LENGTH) return `must be at most ${MAX_METRIC_ID_LENGTH} characters`;
  if (id.trim() === '') return 'must not be empty';
  if (CONTROL.test(id)) return 'must not contain control characters';
  if (NOT_WELL_FORMED.test(id)) return 'must be well-formed Unicode (no lone surrogates, no U+FFFD)';
  return undefined;
}

/** A (metric, partition number) pair as one map key. */
export function partitionKey(metricId: string, partition: number): string {
  return `${partition}\u0000${metricId}`;
}

/** FNV-1a (32 bits, unsigned) of a text's UTF-16 code units: a cheap, stable hash for sharding. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
