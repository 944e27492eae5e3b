/**
 * The functions of a range vector (functions.go): each takes one series' samples
 * in a window [start, end] and gives one value, or none. Pure.
 */
import { MeetrError } from '../errors.js';
import { quantile } from './quantile.js';
import { kahanAdd } from './values.js';

/** One series in one window, with what the function needs to know of the window. */
export interface WindowInput {
  readonly ts: readonly number[];
  readonly values: readonly number[];
  /** The window's ends (ms), after offset; the evaluation time. */
  readonly start: number;
  readonly end: number;
  readonly t: number;
  readonly rangeMs: number;
  /** The scalar arguments besides the range vector, in order. */
  readonly scalars: readonly number[];
}

type RangeFunction = (input: WindowInput) => number | undefined;

const last = <T>(list: readonly T[]): T => list[list.length - 1]!;

/** rate(), increase() and delta(): resets added back for counters, extrapolated to the window's edges. */
function extrapolated(isCounter: boolean, isRate: boolean): RangeFunction {
  return ({ ts, values, start, end, rangeMs }) => {
    const n = ts.length;
    if (n < 2) return undefined;
    const first = values[0]!;
    let result = last(values) - first;
    if (isCounter) {
      let previous = first;
      for (let i = 1; i < n; i++) {
        if (values[i]! < previous) result += previous;
        previous = values[i]!;
      }
    }
    let durationToStart = (ts[0]! - start) / 1000;
    const durationToEnd = (end - last(ts)) / 1000;
    const sampledInterval = (last(ts) - ts[0]!) / 1000;
    const averageInterval = sampledInterval / (n - 1);
    if (isCounter && result > 0 && first >= 0) {
      const durationToZero = sampledInterval * (first / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    const threshold = averageInterval * 1.1;
    let extrapolateTo = sampledInterval;
    extrapolateTo += durationToStart < threshold ? durationToStart : averageInterval / 2;
    extrapolateTo += durationToEnd < threshold ? durationToEnd : averageInterval / 2;
    let factor = extrapolateTo / sampledInterval;
    if (isRate) factor /= rangeMs / 1000;
    return result * factor;
  };
}

/** irate() and idelta(): the last two samples. */
function instantValue(isRate: boolean): RangeFunction {
  return ({ ts, values }) => {
    const n = ts.length;
    if (n < 2) return undefined;
    const [previous, current] = [values[n - 2]!, values[n - 1]!];
    let result = isRate && current < previous ? current : current - previous;
    const interval = ts[n - 1]! - ts[n - 2]!;
    if (interval === 0) return undefined;
    if (isRate) result /= interval / 1000;
    return result;
  };
}

/** Least squares of value over seconds since `interceptMs`: [slope, intercept], as Prometheus' linearRegression. */
function linearRegression(ts: readonly number[], values: readonly number[], interceptMs: number): [number, number] {
  let n = 0;
  let [sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2] = [0, 0, 0, 0, 0, 0, 0, 0];
  const initY = values[0]!;
  let constY = true;
  for (let i = 0; i < ts.length; i++) {
    const v = values[i]!;
    if (constY && i > 0 && v !== initY) constY = false;
    n++;
    const x = (ts[i]! - interceptMs) / 1e3;
    [sumX, cX] = kahanAdd(x, sumX, cX);
    [sumY, cY] = kahanAdd(v, sumY, cY);
    [sumXY, cXY] = kahanAdd(x * v, sumXY, cXY);
    [sumX2, cX2] = kahanAdd(x * x, sumX2, cX2);
  }
  if (constY) return Number.isFinite(initY) || Number.isNaN(initY) ? [0, initY] : [NaN, NaN];
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const slope = (sumXY - (sumX * sumY) / n) / (sumX2 - (sumX * sumX) / n);
  return [slope, sumY / n - (slope * sumX) / n];
}

/** Welford's variance with compensated sums, as stddev_over_time and stdvar_over_time. */
function variance(values: readonly number[]): number {
  let count = 0;
  let [mean, cMean, aux, cAux] = [0, 0, 0, 0];
  for (const v of values) {
    count++;
    const delta = v - (mean + cMean);
    [mean, cMean] = kahanAdd(delta / count, mean, cMean);
    [aux, cAux] = kahanAdd(delta * (v - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

function holtWinters({ values, scalars }: WindowInput): number | undefined {
  const [sf, tf] = scalars as [number, number];
  if (!(sf > 0 && sf < 1))
    throw new MeetrError('query_failed', `invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf}`);
  if (!(tf > 0 && tf < 1))
    throw new MeetrError('query_failed', `invalid trend factor. Expected: 0 < tf < 1, got: ${tf}`);
  if (values.length < 2) return undefined;
  let s0 = 0;
  let s1 = values[0]!;
  let b = values[1]! - values[0]!;
  for (let i = 1; i < values.length; i++) {
    const x = sf * values[i]!;
    if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    [s0, s1] = [s1, x + y];
  }
  return s1;
}

export const RANGE_FUNCTIONS: Readonly<Record<string, RangeFunction>> = {
  rate: extrapolated(true, true),
  increase: extrapolated(true, false),
  delta: extrapolated(false, false),
  irate: instantValue(true),
  idelta: instantValue(false),
  count_over_time: ({ values }) => values.length,
  present_over_time: () => 1,
  last_over_time: ({ values }) => last(values),
  sum_over_time: ({ values }) => {
    let [sum, c] = [0, 0];
    for (const v of values) [sum, c] = kahanAdd(v, sum, c);
    return Number.isFinite(sum) || Number.isNaN(sum) ? sum + c : sum;
  },
  avg_over_time: ({ values }) => {
    let [mean, c, count] = [0, 0, 0];
    for (const v of values) {
      count++;
      if (mean === Infinity || mean === -Infinity) {
        if ((v === Infinity || v === -Infinity) && mean > 0 === v > 0) continue;
        if (Number.isFinite(v)) continue;
      }
      [mean, c] = kahanAdd(v / count - mean / count, mean, c);
    }
    return mean === Infinity || mean === -Infinity ? mean : mean + c;
  },
  min_over_time: ({ values }) => values.reduce((min, v) => (v < min || Number.isNaN(min) ? v : min), values[0]!),
  max_over_time: ({ values }) => values.reduce((max, v) => (v > max || Number.isNaN(max) ? v : max), values[0]!),
  stdvar_over_time: ({ values }) => variance(values),
  stddev_over_time: ({ values }) => Math.sqrt(variance(values)),
  quantile_over_time: ({ values, scalars }) => quantile(scalars[0]!, values),
  changes: ({ values }) => {
    let changes = 0;
    for (let i = 1; i < values.length; i++) {
      const [previous, current] = [values[i - 1]!, values[i]!];
      if (current !== previous && !(Number.isNaN(current) && Number.isNaN(previous))) changes++;
    }
    return changes;
  },
  resets: ({ values }) => {
    let resets = 0;
    for (let i = 1; i < values.length; i++) if (values[i]! < values[i - 1]!) resets++;
    return resets;
  },
  deriv: ({ ts, values }) => (ts.length < 2 ? undefined : linearRegression(ts, values, ts[0]!)[0]),
  predict_linear: ({ ts, values, t, scalars }) => {
    if (ts.length < 2) return undefined;
    const [slope, intercept] = linearRegression(ts, values, t);
    return slope * scalars[0]! + intercept;
  },
  holt_winters: holtWinters,
  // absent_over_time is answered by the evaluator over all series at once.
  absent_over_time: () => 1,
};
