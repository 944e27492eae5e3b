/**
 * Values at every step of a range query, series by series: each series' window
 * slides along its samples on two indexes that only move forward, so no window is
 * searched for, copied or made into an object.
 */
import { fallsUpTo, type RangeFunction, type WindowInput } from './range-functions.js';
import { LOOKBACK_MS, windowEndAt, withoutStale, type LoadedSeries, type WindowEnd } from './selectors.js';
import type { Labels } from './values.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One series' value at each step of the query, where `present[step]` is 1. */
export interface SteppedSeries {
  readonly labels: Labels;
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

export interface SteppedCall {
  readonly series: readonly SteppedSeries[];
  /** Samples in the windows of each step, all series together: what evaluating that step holds. */
  readonly held: Float64Array;
  /** The scalar arguments it was worked out with. */
  readonly scalars: readonly number[];
}

/** What a call is worked out over: the query's steps, and the window at each. */
export interface StepPlan {
  readonly startMs: number;
  readonly stepMs: number;
  readonly steps: number;
  readonly rangeMs: number;
  /** Where each step's window ends: at (atMs, else the step's time) less offsetMs; it starts rangeMs before. */
  readonly end: WindowEnd;
  /** Called after each series, to give the event loop back and stop at the deadline. */
  readonly checkpoint: () => Promise<void>;
}

/** Every step's value of `fn` over each series (in their order). */
export async function stepRangeFunction(
  fn: RangeFunction,
  series: readonly LoadedSeries[],
  scalars: readonly number[],
  plan: StepPlan,
): Promise<SteppedCall> {
  const { startMs, stepMs, steps, rangeMs, end: windowEnd } = plan;
  const held = new Float64Array(steps);
  const out: SteppedSeries[] = [];
  for (const s of series) {
    const { ts, values } = withoutStale(s);
    const [results, present] = [new Float64Array(steps), new Uint8Array(steps)];
    const falls = fn.countsFalls === true ? fallsUpTo(values) : undefined;
    // One input for every window of the series (a function keeps nothing of it): no object per step.
    const input: Mutable<WindowInput> = {
      ts,
      values,
      first: 0,
      last: -1,
      start: 0,
      end: 0,
      t: 0,
      rangeMs,
      scalars,
      falls,
    };
    // The window [start, end] holds indexes first to last; both ends only move forward with t.
    let [first, last] = [0, -1];
    for (let step = 0, t = startMs; step < steps; step++, t += stepMs) {
      const end = windowEndAt(windowEnd, t);
      const start = end - rangeMs;
      while (first < ts.length && ts[first]! < start) first++;
      if (last < first - 1) last = first - 1;
      while (last + 1 < ts.length && ts[last + 1]! <= end) last++;
      if (last < first) continue;
      held[step]! += last - first + 1;
      input.first = first;
      input.last = last;
      input.start = start;
      input.end = end;
      input.t = t;
      const value = fn(input);
      if (value === undefined) continue;
      results[step] = value;
      present[step] = 1;
    }
    out.push({ labels: s.labels, values: results, present });
    await plan.checkpoint();
  }
  return { series: out, held, scalars };
}

/** An instant selector's sample at every step: each series' latest at most LOOKBACK_MS before the step's reference time, none where that is a staleness marker. */
export async function stepInstantSelector(
  series: readonly LoadedSeries[],
  plan: Omit<StepPlan, 'rangeMs'>,
): Promise<SteppedCall> {
  const { startMs, stepMs, steps, end } = plan;
  const out: SteppedSeries[] = [];
  for (const { labels, ts, values, stale } of series) {
    const [results, present] = [new Float64Array(steps), new Uint8Array(steps)];
    // The last sample at or before the reference time; it only moves forward with t.
    let i = -1;
    for (let step = 0, t = startMs; step < steps; step++, t += stepMs) {
      const ref = windowEndAt(end, t);
      while (i + 1 < ts.length && ts[i + 1]! <= ref) i++;
      if (i < 0 || ts[i]! < ref - LOOKBACK_MS || stale?.has(i) === true) continue;
      results[step] = values[i]!;
      present[step] = 1;
    }
    out.push({ labels, values: results, present });
    await plan.checkpoint();
  }
  return { series: out, held: new Float64Array(steps), scalars: [] };
}
