/**
 * A range function of a range selector in a range query, worked out series by
 * series for every step at once (step-values.ts), as Prometheus' engine evaluates
 * it. The evaluator takes each step's values from here instead of windowing the
 * series at that step; the values are the same, since a function's value at a time
 * depends on that time alone.
 */
import {
  typeOf,
  unwrapParens,
  type Call,
  type Expr,
  type MatrixSelector,
  type Subquery,
  type VectorSelector,
} from './ast.js';
import { VALUE_AGGREGATIONS } from './aggregations.js';
import { aggregateSteps } from './range-aggregation.js';
import { RANGE_FUNCTIONS } from './range-functions.js';
import type { SelectorData, WindowEnd } from './selectors.js';
import { stepInstantSelector, stepRangeFunction, type SteppedCall } from './step-values.js';
import { compareLabels, labelsKey, tooManySamples, withoutName, type Labels, type RangeSeries } from './values.js';

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

/** How the evaluator places a selector at a time (after `@` and offset), for a whole query. */
export interface QueryWindows {
  /** A selector's `@` resolved, and its offset: where a range selector's windows end, an instant selector's reference time. */
  readonly endOf: (selector: VectorSelector) => WindowEnd;
  readonly checkpoint: () => Promise<void>;
}

/** The range-function calls of one range query, each worked out for every step at the first step that asks. */
export class RangeSteps {
  private readonly calls = new Map<Call, SteppedCall>();
  private readonly steps: number;

  /** `known`: calls already worked out for every step (rollup-windows.ts). */
  constructor(
    private readonly query: RangeQuery,
    private readonly windows: QueryWindows,
    known: ReadonlyMap<Call, SteppedCall> = new Map(),
  ) {
    this.steps = Math.floor((query.endMs - query.startMs) / query.stepMs) + 1;
    for (const [call, stepped] of known) this.calls.set(call, stepped);
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
  ): Promise<{ call: SteppedCall; step: number } | undefined> {
    const { data, startMs, endMs, stepMs, maxSamples } = this.query;
    if (arg.kind !== 'matrix' || expr.func === 'absent_over_time') return undefined;
    if (t < startMs || t > endMs || (t - startMs) % stepMs !== 0) return undefined;
    const step = (t - startMs) / stepMs;
    const known = this.calls.get(expr);
    if (known !== undefined) return sameScalars(known.scalars, scalars) ? { call: known, step } : undefined;
    const series = data.get(arg.selector) ?? [];
    if (series.length * this.steps > maxSamples) return undefined;
    const { endOf, checkpoint } = this.windows;
    const plan = {
      startMs,
      stepMs,
      steps: this.steps,
      rangeMs: arg.rangeMs,
      checkpoint,
      end: endOf(arg.selector),
    };
    const call = await stepRangeFunction(RANGE_FUNCTIONS[expr.func]!, series, scalars, plan);
    this.calls.set(expr, call);
    return { call, step };
  }

  /**
   * The whole answer of a range query that is a selector, a range function of a
   * range selector with number arguments, or an aggregation of values
   * (VALUE_AGGREGATIONS) of either, built from its values at every step, the query
   * holding `held` samples before. Undefined for any other query.
   */
  async answer(expr: Expr, held: number): Promise<RangeSeries[] | undefined> {
    const { startMs, stepMs, maxSamples } = this.query;
    const top = unwrapParens(expr);
    if (top.kind === 'aggregate') {
      if (!VALUE_AGGREGATIONS.has(top.op) || top.param !== undefined) return undefined;
      const inner = await this.wholeSteps(unwrapParens(top.expr));
      if (inner === undefined) return undefined;
      const { checkpoint } = this.windows;
      return aggregateSteps(top, inner.call, inner.labels, [held, maxSamples], [startMs, stepMs], checkpoint);
    }
    const whole = await this.wholeSteps(top);
    return whole && seriesOfSteps(whole.call, whole.labels, [held, maxSamples], startMs, stepMs);
  }

  /**
   * The values at every step of a selector, or of a range function as answeredWhole
   * takes it, and each series' labels. Undefined where two series would give the
   * same labels (the evaluator finds which step that fails at).
   */
  private async wholeSteps(top: Expr): Promise<{ call: SteppedCall; labels: Labels[] } | undefined> {
    const stepped = await this.stepsOf(top);
    if (stepped === undefined) return undefined;
    const labels = stepped.call.series.map((s) => stepped.labelsOf(s.labels));
    return new Set(labels.map(labelsKey)).size < labels.length ? undefined : { call: stepped.call, labels };
  }

  /** The values at every step of a selector, or of a range function as answeredWhole takes it, and how each series is labelled. */
  private async stepsOf(top: Expr): Promise<{ call: SteppedCall; labelsOf: (labels: Labels) => Labels } | undefined> {
    const { data, startMs, stepMs, maxSamples } = this.query;
    const { checkpoint } = this.windows;
    if (top.kind === 'vector') {
      if ((data.get(top)?.length ?? 0) * this.steps > maxSamples) return undefined;
      const plan = { startMs, stepMs, steps: this.steps, end: this.windows.endOf(top), checkpoint };
      return { call: await stepInstantSelector(data.get(top) ?? [], plan), labelsOf: (labels) => labels };
    }
    const call = top.kind === 'call' ? wholeCall(top) : undefined;
    if (top.kind !== 'call' || call === undefined) return undefined;
    const stepped = await this.at(top, call.arg, call.scalars, startMs);
    if (stepped === undefined) return undefined;
    return { call: stepped.call, labelsOf: top.func === 'last_over_time' ? (labels) => labels : withoutName };
  }
}

/**
 * A range query's series from a call's values at every step, each series labelled
 * `labels` (by index, distinct), refused past `maxSamples` at the step and by the
 * check the evaluator makes step by step (evaluator.ts range): the step's windows,
 * then its vector, then its output at every step left.
 */
function seriesOfSteps(
  call: SteppedCall,
  labels: readonly Labels[],
  [held, maxSamples]: [held: number, maxSamples: number],
  startMs: number,
  stepMs: number,
): RangeSeries[] {
  const steps = call.held.length;
  for (let step = 0; step < steps; step++) {
    let count = 0;
    for (const s of call.series) count += s.present[step]!;
    // The step's windows and vector, then its output (the tightest of the evaluator's checks at each point).
    const stepHeld = call.held[step]! + count;
    if (held + count * (steps - step) > maxSamples || held + stepHeld + count > maxSamples) throw tooManySamples();
    held += count;
  }
  const series: RangeSeries[] = [];
  call.series.forEach(({ values, present }, i) => {
    let n = 0;
    for (let step = 0; step < steps; step++) n += present[step]!;
    if (n === 0) return;
    // Sized once: a day at 1m of a hundred series is 144,000 steps, which arrays grown by push copy as they grow.
    const out = { labels: labels[i]!, ts: new Float64Array(n), values: new Float64Array(n) };
    for (let step = 0, t = startMs, at = 0; step < steps; step++, t += stepMs) {
      if (present[step] === 0) continue;
      out.ts[at] = t;
      out.values[at++] = values[step]!;
    }
    series.push(out);
  });
  return series.sort((a, b) => compareLabels(a.labels, b.labels));
}

/**
 * The one selector of a range query that RangeSteps answers whole: the query is that
 * selector, or a range function (but absent_over_time) of it as a range selector
 * with number arguments besides. Undefined for any other query.
 */
export function answeredWhole(expr: Expr): VectorSelector | undefined {
  const top = unwrapParens(expr);
  if (top.kind === 'vector') return top;
  return top.kind === 'call' ? wholeCall(top)?.arg.selector : undefined;
}

/** A range function (but absent_over_time) of a range selector with number arguments besides: that selector and those numbers. */
function wholeCall(call: Call): { arg: MatrixSelector; scalars: number[] } | undefined {
  if (call.func === 'absent_over_time') return undefined;
  const rangeIndex = call.args.findIndex((arg) => typeOf(arg) === 'matrix');
  const arg = rangeIndex < 0 ? undefined : unwrapParens(call.args[rangeIndex]!);
  if (arg?.kind !== 'matrix') return undefined;
  const scalars: number[] = [];
  for (const [i, other] of call.args.entries()) {
    const literal = unwrapParens(other);
    if (literal.kind === 'number') scalars.push(literal.value);
    else if (i !== rangeIndex) return undefined;
  }
  return { arg, scalars };
}
