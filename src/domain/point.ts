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

/** FNV-1a (32 bits, unsigned) of a text's UTF-16 code units: a cheap, stable hash for sharding. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The timestamps a write may carry now: [earliestMs, latestMs]. */
export interface TsWindow {
  readonly earliestMs: number;
  readonly latestMs: number;
  /** Why an older point is refused (retention.ts oldestWritable). */
  readonly earliestReason?: string;
}

/** Any timestamp at all. */
export const ANY_TIME: TsWindow = { earliestMs: Number.NEGATIVE_INFINITY, latestMs: Number.POSITIVE_INFINITY };

/**
 * A sample the Meetr API does not aggregate, kept for PromQL (remote write): a
 * NaN or infinite value, or a Prometheus staleness marker (value NaN, stale true).
 */
export interface SpecialValue {
  readonly ts: EpochMs;
  readonly value: number;
  readonly stale: boolean;
}

/** A sample of `metricId` only PromQL reads: NaN, ±Inf, or a Prometheus staleness marker. */
export interface SpecialSample extends SpecialValue {
  readonly metricId: string;
}

/** [from, to] ms, both inclusive. */
export type TimeSpan = readonly [EpochMs, EpochMs];

/**
 * The raw points of one metric to read: fromMs <= ts <= toMs, and of those only the
 * ones within `spans` when given (ascending, disjoint, within [fromMs, toMs]).
 */
export interface SamplesQuery {
  readonly metricId: string;
  readonly fromMs: EpochMs;
  readonly toMs: EpochMs;
  readonly spans?: readonly TimeSpan[];
}

/** The raw points of one metric, ascending by ts, and its special samples (NaN, ±Inf, staleness markers; ascending). */
export interface MetricSamples {
  readonly metricId: string;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly special: SpecialValue[];
}
