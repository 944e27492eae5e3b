/**
 * What selectors select, from the series a query loaded: an instant selector's
 * latest sample at most LOOKBACK_MS before the reference time (none when that
 * sample is a staleness marker), a range selector's samples in [from, to]
 * without staleness markers. Pure.
 */
import type { MetricSamples } from '../domain/point.js';
import type { Labels } from '../domain/series.js';
import type { VectorSelector } from './ast.js';
import { lastAtOrBefore, windowIndexes } from '../time/windows.js';
import type { RangeWindow, Vector } from './values.js';

/** How far back an instant selector looks for a sample (Prometheus' default lookback delta). */
export const LOOKBACK_MS = 5 * 60_000;

/** One series a selector selected, with its samples (ascending ts, ms) in the range the query needs. */
export interface LoadedSeries {
  readonly labels: Labels;
  readonly ts: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  /** Indexes of samples that are staleness markers (their value is not used). */
  readonly stale?: ReadonlySet<number>;
}

/** The series each selector of a query selected, sorted by labels. */
export type SelectorData = ReadonlyMap<VectorSelector, readonly LoadedSeries[]>;

/** Each series' sample at `ref` (ms), looking back at most LOOKBACK_MS; `ts` is the sample's own time. */
export function instantSamples(series: readonly LoadedSeries[], ref: number): Vector {
  const samples: Vector = [];
  for (const s of series) {
    const i = lastAtOrBefore(s.ts, ref);
    if (i < 0 || s.ts[i]! < ref - LOOKBACK_MS || s.stale?.has(i) === true) continue;
    samples.push({ labels: s.labels, value: s.values[i]!, ts: s.ts[i]! });
  }
  return samples;
}

/** Each series' samples with from <= ts <= to, as views of its arrays, staleness markers left out; series with none are left out. */
export function windows(series: readonly LoadedSeries[], from: number, to: number): RangeWindow[] {
  const out: RangeWindow[] = [];
  for (const s of series) {
    const { ts, values } = withoutStale(s);
    const [first, last] = windowIndexes(ts, from, to);
    if (last >= first) out.push({ labels: s.labels, ts, values, first, last });
  }
  return out;
}

const freshOnly = new WeakMap<LoadedSeries, Pick<LoadedSeries, 'ts' | 'values'>>();

/** A selector's `@` time (undefined without one) and offset. */
export interface WindowEnd {
  readonly atMs: number | undefined;
  readonly offsetMs: number;
}

/** Where a window ends (or an instant selector looks back from) at evaluation time `t`. */
export function windowEndAt({ atMs, offsetMs }: WindowEnd, t: number): number {
  return (atMs ?? t) - offsetMs;
}

/** A series' samples without its staleness markers (a range selector never sees them), worked out once per series. */
export function withoutStale(s: LoadedSeries): Pick<LoadedSeries, 'ts' | 'values'> {
  if (s.stale === undefined || s.stale.size === 0) return s;
  let fresh = freshOnly.get(s);
  if (fresh === undefined) {
    const [ts, values]: [number[], number[]] = [[], []];
    for (let i = 0; i < s.ts.length; i++) {
      if (s.stale.has(i)) continue;
      ts.push(s.ts[i]!);
      values.push(s.values[i]!);
    }
    freshOnly.set(s, (fresh = { ts, values }));
  }
  return fresh;
}

/**
 * A series' points with its special samples merged in, in ts order (a special
 * sample at the ts of a point gives way to the point), and which are staleness markers.
 */
export function withSpecialSamples(samples: MetricSamples): Pick<LoadedSeries, 'ts' | 'values' | 'stale'> {
  const { special } = samples;
  if (special.length === 0) return { ts: samples.ts, values: samples.values };
  const ts: number[] = [];
  const values: number[] = [];
  const stale = new Set<number>();
  let s = 0;
  for (let i = 0; i <= samples.ts.length; i++) {
    const next = i < samples.ts.length ? samples.ts[i]! : Infinity;
    for (; s < special.length && special[s]!.ts < next; s++) {
      if (special[s]!.stale) stale.add(ts.length);
      ts.push(special[s]!.ts);
      values.push(special[s]!.value);
    }
    if (s < special.length && special[s]!.ts === next) s++;
    if (i < samples.ts.length) {
      ts.push(next);
      values.push(samples.values[i]!);
    }
  }
  return { ts, values, stale };
}
