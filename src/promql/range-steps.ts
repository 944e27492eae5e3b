/**
 * A range function of a range selector in a range query, worked out series by
 * series for every step at once, as Prometheus' engine evaluates it: each series'
 * window slides along its samples on two indexes that only move forward, so no
 * window is searched for, copied or made into an object. The evaluator takes each
 * step's values from here instead of windowing the series at that step; the values
 * are the same, since a function's value at a time depends on that time alone.
 */
import type { Call, MatrixSelector, Subquery } from './ast.js';
import { RANGE_FUNCTIONS, type RangeFunction } from './range-functions.js';
import { withoutStale, type LoadedSeries, type SelectorData } from './selectors.js';
import type { Labels } from './values.js';

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
  readonly windowAt: (t: number) => { start: number; end: number };
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
  const { startMs, stepMs, steps, rangeMs, windowAt } = plan;
  const held = new Float64Array(steps);
  const out: SteppedSeries[] = [];
  for (const s of series) {
    const { ts, values } = withoutStale(s);
    const [results, present] = [new Float64Array(steps), new Uint8Array(steps)];
    // The window [start, end] holds indexes first to last; both ends only move forward with t.
    let [first, last] = [0, -1];
    for (let step = 0, t = startMs; step < steps; step++, t += stepMs) {
      const { start, end } = windowAt(t);
      while (first < ts.length && ts[first]! < start) first++;
      if (last < first - 1) last = first - 1;
      while (last + 1 < ts.length && ts[last + 1]! <= end) last++;
      if (last < first) continue;
      held[step]! += last - first + 1;
      const value = fn({ ts, values, first, last, start, end, t, rangeMs, scalars });
      if (value === undefined) continue;
      results[step] = value;
      present[step] = 1;
    }
    out.push({ labels: s.labels, values: results, present });
    await plan.checkpoint();
  }
  return { series: out, held, scalars };
}

/** Whether two lists of scalar arguments are the same (NaN the same as NaN). */
function sameScalars(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/** A range query's evaluation times, its samples and its bound on samples held. */
export interface RangeQuery {
  readonly data: SelectorData;
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  readonly maxSamples: number;
}

/** How the evaluator windows a selector at a time, and gives the event loop back. */
export type StepWindows = Pick<StepPlan, 'windowAt' | 'checkpoint'>;

/** The range-function calls of one range query, each worked out for every step at the first step that asks. */
export class RangeSteps {
  private readonly calls = new Map<Call, SteppedCall>();
  private readonly steps: number;

  constructor(private readonly query: RangeQuery) {
    this.steps = Math.floor((query.endMs - query.startMs) / query.stepMs) + 1;
  }

  /**
   * The call's values at every step and the index of the step at `t`: for a range
   * selector, at a step of the query, with the scalar arguments it was worked out
   * with, and series times steps within the query's bound of samples. Undefined for
   * anything else, which the evaluator windows step by step.
   */
  async at(
    expr: Call,
    arg: MatrixSelector | Subquery,
    scalars: readonly number[],
    t: number,
    windows: StepWindows,
  ): Promise<{ call: SteppedCall; step: number } | undefined> {
    const { data, startMs, endMs, stepMs, maxSamples } = this.query;
    if (arg.kind !== 'matrix' || expr.func === 'absent_over_time') return undefined;
    if (t < startMs || t > endMs || (t - startMs) % stepMs !== 0) return undefined;
    const step = (t - startMs) / stepMs;
    const known = this.calls.get(expr);
    if (known !== undefined) return sameScalars(known.scalars, scalars) ? { call: known, step } : undefined;
    const series = data.get(arg.selector) ?? [];
    if (series.length * this.steps > maxSamples) return undefined;
    const plan = { startMs, stepMs, steps: this.steps, rangeMs: arg.rangeMs, ...windows };
    const call = await stepRangeFunction(RANGE_FUNCTIONS[expr.func]!, series, scalars, plan);
    this.calls.set(expr, call);
    return { call, step };
  }
}
