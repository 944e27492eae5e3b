/**
 * The functions of a range vector (functions.go): each takes one series' samples
 * in a window [start, end] and gives one value, or none. Pure.
 */
import { MeetrError } from '../errors.js';
import { quantile } from './quantile.js';
import { kahanAdd } from './values.js';

/** One series in one window, with what the function needs to know of the window. */
export interface WindowInput {
  /** The series' samples (ascending ts, ms), of which the window holds those at indexes first to last. */
  readonly ts: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  readonly first: number;
  readonly last: number;
  /** The window's ends (ms), after offset; the evaluation time. */
  readonly start: number;
  readonly end: number;
  readonly t: number;
  readonly rangeMs: number;
  /** The scalar arguments besides the range vector, in order. */
  readonly scalars: readonly number[];
  /** fallsUpTo(values), where the function counts falls (countsFalls) and it was worked out for the whole series. */
  readonly falls?: Int32Array | undefined;
}

export interface RangeFunction {
  (input: WindowInput): number | undefined;
  /** Whether it counts where a sample is below the one before (a counter's reset): then `falls` saves walking windows without one. */
  readonly countsFalls?: boolean;
}

/** How many samples up to each index are below the one before: a window (first, last] has falls[last] - falls[first]. */
export function fallsUpTo(values: ArrayLike<number>): Int32Array {
  const falls = new Int32Array(values.length);
  for (let i = 1; i < values.length; i++) falls[i] = falls[i - 1]! + (values[i]! < values[i - 1]! ? 1 : 0);
  return falls;
}

function countingFalls(fn: (input: WindowInput) => number | undefined): RangeFunction {
  return Object.assign(fn, { countsFalls: true });
}

/** rate(), increase() and delta(): resets added back for counters, extrapolated to the window's edges. */
function extrapolated(isCounter: boolean, isRate: boolean): RangeFunction {
  const fn = ({ ts, values, first: i0, last: i1, start, end, rangeMs, falls }: WindowInput): number | undefined => {
    const n = i1 - i0 + 1;
    if (n < 2) return undefined;
    const first = values[i0]!;
    let result = values[i1]! - first;
    // A window with no fall has no reset to add back.
    if (isCounter && (falls === undefined || falls[i1] !== falls[i0])) {
      let previous = first;
      for (let i = i0 + 1; i <= i1; i++) {
        if (values[i]! < previous) result += previous;
        previous = values[i]!;
      }
    }
    let durationToStart = (ts[i0]! - start) / 1000;
    const durationToEnd = (end - ts[i1]!) / 1000;
    const sampledInterval = (ts[i1]! - ts[i0]!) / 1000;
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
  return isCounter ? countingFalls(fn) : fn;
}

/** irate() and idelta(): the last two samples. */
function instantValue(isRate: boolean): RangeFunction {
  return ({ ts, values, first, last }) => {
    if (last - first < 1) return undefined;
    const [previous, current] = [values[last - 1]!, values[last]!];
    let result = isRate && current < previous ? current : current - previous;
    const interval = ts[last]! - ts[last - 1]!;
    if (interval === 0) return undefined;
    if (isRate) result /= interval / 1000;
    return result;
  };
}

/** Least squares of value over seconds since `interceptMs`: [slope, intercept], as Prometheus' linearRegression. */
function linearRegression({ ts, values, first, last }: WindowInput, interceptMs: number): [number, number] {
  let n = 0;
  let [sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2] = [0, 0, 0, 0, 0, 0, 0, 0];
  const initY = values[first]!;
  let constY = true;
  for (let i = first; i <= last; i++) {
    const v = values[i]!;
    if (constY && i > first && v !== initY) constY = false;
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
function variance({ values, first, last }: WindowInput): number {
  let count = 0;
  let [mean, cMean, aux, cAux] = [0, 0, 0, 0];
  for (let i = first; i <= last; i++) {
    const v = values[i]!;
    count++;
    const delta = v - (mean + cMean);
    [mean, cMean] = kahanAdd(delta / count, mean, cMean);
    [aux, cAux] = kahanAdd(delta * (v - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

function holtWinters({ values, first, last, scalars }: WindowInput): number | undefined {
  const [sf, tf] = scalars as [number, number];
  if (!(sf > 0 && sf < 1))
    throw new MeetrError('query_failed', `invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf}`);
  if (!(tf > 0 && tf < 1))
    throw new MeetrError('query_failed', `invalid trend factor. Expected: 0 < tf < 1, got: ${tf}`);
  if (last - first < 1) return undefined;
  let s0 = 0;
  let s1 = values[first]!;
  let b = values[first + 1]! - values[first]!;
  for (let i = first + 1; i <= last; i++) {
    const x = sf * values[i]!;
    if (i > first + 1) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    [s0, s1] = [s1, x + y];
  }
  return s1;
}

/** The window's values, in order (for the functions that sort them). */
function windowValues({ values, first, last }: WindowInput): number[] {
  const out = new Array<number>(last - first + 1);
  for (let i = first; i <= last; i++) out[i - first] = values[i]!;
  return out;
}

export const RANGE_FUNCTIONS: Readonly<Record<string, RangeFunction>> = {
  rate: extrapolated(true, true),
  increase: extrapolated(true, false),
  delta: extrapolated(false, false),
  irate: instantValue(true),
  idelta: instantValue(false),
  count_over_time: ({ first, last }) => last - first + 1,
  present_over_time: () => 1,
  last_over_time: ({ values, last }) => values[last]!,
  sum_over_time: ({ values, first, last }) => {
    let [sum, c] = [0, 0];
    for (let i = first; i <= last; i++) [sum, c] = kahanAdd(values[i]!, sum, c);
    return Number.isFinite(sum) || Number.isNaN(sum) ? sum + c : sum;
  },
  avg_over_time: ({ values, first, last }) => {
    let [mean, c, count] = [0, 0, 0];
    for (let i = first; i <= last; i++) {
      const v = values[i]!;
      count++;
      if (mean === Infinity || mean === -Infinity) {
        if ((v === Infinity || v === -Infinity) && mean > 0 === v > 0) continue;
        if (Number.isFinite(v)) continue;
      }
      [mean, c] = kahanAdd(v / count - mean / count, mean, c);
    }
    return mean === Infinity || mean === -Infinity ? mean : mean + c;
  },
  min_over_time: ({ values, first, last }) => {
    let min = values[first]!;
    for (let i = first + 1; i <= last; i++) if (values[i]! < min || Number.isNaN(min)) min = values[i]!;
    return min;
  },
  max_over_time: ({ values, first, last }) => {
    let max = values[first]!;
    for (let i = first + 1; i <= last; i++) if (values[i]! > max || Number.isNaN(max)) max = values[i]!;
    return max;
  },
  stdvar_over_time: (input) => variance(input),
  stddev_over_time: (input) => Math.sqrt(variance(input)),
  quantile_over_time: (input) => quantile(input.scalars[0]!, windowValues(input)),
  changes: ({ values, first, last }) => {
    let changes = 0;
    for (let i = first + 1; i <= last; i++) {
      const [previous, current] = [values[i - 1]!, values[i]!];
      if (current !== previous && !(Number.isNaN(current) && Number.isNaN(previous))) changes++;
    }
    return changes;
  },
  resets: countingFalls(({ values, first, last, falls }) => {
    if (falls !== undefined) return falls[last]! - falls[first]!;
    let resets = 0;
    for (let i = first + 1; i <= last; i++) if (values[i]! < values[i - 1]!) resets++;
    return resets;
  }),
  deriv: (input) => (input.last - input.first < 1 ? undefined : linearRegression(input, input.ts[input.first]!)[0]),
  predict_linear: (input) => {
    if (input.last - input.first < 1) return undefined;
    const [slope, intercept] = linearRegression(input, input.t);
    return slope * input.scalars[0]! + intercept;
  },
  holt_winters: holtWinters,
  // absent_over_time is answered by the evaluator over all series at once.
  absent_over_time: () => 1,
};
