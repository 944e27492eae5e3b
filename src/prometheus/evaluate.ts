/**
 * Evaluates a parsed PromQL expression (promql.ts) over samples already loaded,
 * as Prometheus 2.x defines it (promql/engine.go and functions.go): an instant
 * selector takes each series' latest sample at most 5 minutes (the lookback) before
 * the evaluation time, none when that sample is a staleness marker; a range
 * selector takes the samples in [t - range, t], markers left out; rate and
 * increase handle counter resets and extrapolate to the range's edges; functions
 * and arithmetic drop the metric name. Pure: no I/O.
 */
import { MeetrError } from '../errors.js';
import { compareText, NAME_LABEL, type Labels } from '../domain/series.js';
import type { AggregateOp, ArithmeticOp, Expr, MatrixSelector, RangeFunction, VectorSelector } from './promql.js';

/** How far back an instant selector looks for a sample (Prometheus' default lookback delta). */
export const LOOKBACK_MS = 5 * 60_000;

/** One series a selector selected, with its samples (ascending ts, ms) in the range the query needs. */
export interface LoadedSeries {
  readonly labels: Labels;
  readonly ts: readonly number[];
  readonly values: readonly number[];
  /** Indexes of samples that are staleness markers (their value is not used). */
  readonly stale?: ReadonlySet<number>;
}

/** The series each selector of the expression selected. */
export type SelectorData = ReadonlyMap<VectorSelector | MatrixSelector, readonly LoadedSeries[]>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

export interface RangeSeries {
  readonly labels: Labels;
  /** [ts in ms, value], ascending. */
  readonly points: Array<[number, number]>;
}

export type InstantResult =
  | { readonly type: 'scalar'; readonly value: number }
  | { readonly type: 'vector'; readonly samples: Sample[] }
  | { readonly type: 'matrix'; readonly series: RangeSeries[] };

type Value = { readonly type: 'scalar'; readonly value: number } | { readonly type: 'vector'; readonly samples: Sample[] };

/** Evaluates `expr` at `t` (ms). A range selector at the top answers its raw samples (a matrix). */
export function evaluateInstant(expr: Expr, t: number, data: SelectorData): InstantResult {
  if (expr.kind === 'matrix') {
    const series = seriesOf(data, expr)
      .map((s) => ({ labels: s.labels, points: windowOf(s, t - expr.selector.offsetMs - expr.rangeMs, t - expr.selector.offsetMs).map((i) => [s.ts[i]!, s.values[i]!] as [number, number]) }))
      .filter((s) => s.points.length > 0);
    return { type: 'matrix', series: series.sort((a, b) => compareLabels(a.labels, b.labels)) };
  }
  const value = evaluate(expr, t, data);
  return value.type === 'scalar' ? value : { type: 'vector', samples: [...value.samples].sort((a, b) => compareLabels(a.labels, b.labels)) };
}

/** Evaluates `expr` (a scalar or an instant vector) at each of `times`: one series per label set, sorted by labels. */
export function evaluateRange(expr: Expr, times: readonly number[], data: SelectorData): RangeSeries[] {
  const series = new Map<string, RangeSeries>();
  for (const t of times) {
    const value = evaluate(expr, t, data);
    const samples = value.type === 'scalar' ? [{ labels: {}, value: value.value }] : value.samples;
    for (const { labels, value: v } of samples) {
      const key = labelsKey(labels);
      let entry = series.get(key);
      if (entry === undefined) series.set(key, (entry = { labels, points: [] }));
      entry.points.push([t, v]);
    }
  }
  return [...series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
}

function seriesOf(data: SelectorData, selector: VectorSelector | MatrixSelector): readonly LoadedSeries[] {
  return data.get(selector) ?? [];
}

function evaluate(expr: Expr, t: number, data: SelectorData): Value {
  switch (expr.kind) {
    case 'number':
      return { type: 'scalar', value: expr.value };
    case 'vector':
      return { type: 'vector', samples: instantSamples(seriesOf(data, expr), t - expr.offsetMs) };
    case 'matrix':
      throw new MeetrError('invalid_request', 'a range vector can only be the argument of a function here');
    case 'call':
      return { type: 'vector', samples: distinct(rangeFunction(expr.func, expr.arg, seriesOf(data, expr.arg), t)) };
    case 'aggregate': {
      const inner = evaluate(expr.expr, t, data);
      return { type: 'vector', samples: inner.type === 'vector' ? aggregate(expr.op, expr.grouping, expr.without, inner.samples) : [] };
    }
    case 'negate': {
      const inner = evaluate(expr.expr, t, data);
      if (inner.type === 'scalar') return { type: 'scalar', value: -inner.value };
      return { type: 'vector', samples: distinct(inner.samples.map((s) => ({ labels: withoutName(s.labels), value: -s.value }))) };
    }
    case 'binary': {
      const lhs = evaluate(expr.lhs, t, data);
      const rhs = evaluate(expr.rhs, t, data);
      if (lhs.type === 'scalar' && rhs.type === 'scalar') return { type: 'scalar', value: arithmetic(expr.op, lhs.value, rhs.value) };
      if (lhs.type === 'vector' && rhs.type === 'scalar') return { type: 'vector', samples: distinct(lhs.samples.map((s) => ({ labels: withoutName(s.labels), value: arithmetic(expr.op, s.value, rhs.value) }))) };
      if (lhs.type === 'scalar' && rhs.type === 'vector') return { type: 'vector', samples: distinct(rhs.samples.map((s) => ({ labels: withoutName(s.labels), value: arithmetic(expr.op, lhs.value, s.value) }))) };
      throw new MeetrError('invalid_request', 'binary operations between two vectors are not supported');
    }
  }
}

/** Index of the last ts <= t, or -1. */
function lastAtOrBefore(ts: readonly number[], t: number): number {
  let low = 0;
  let high = ts.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (ts[mid]! <= t) low = mid + 1;
    else high = mid;
  }
  return low - 1;
}

/** Indexes of the samples with from <= ts <= to that are not staleness markers. */
function windowOf(series: LoadedSeries, from: number, to: number): number[] {
  const last = lastAtOrBefore(series.ts, to);
  const indexes: number[] = [];
  for (let i = lastAtOrBefore(series.ts, from - 1) + 1; i <= last; i++) if (series.stale?.has(i) !== true) indexes.push(i);
  return indexes;
}

function instantSamples(series: readonly LoadedSeries[], ref: number): Sample[] {
  const samples: Sample[] = [];
  for (const s of series) {
    const i = lastAtOrBefore(s.ts, ref);
    if (i < 0 || s.ts[i]! < ref - LOOKBACK_MS || s.stale?.has(i) === true) continue;
    samples.push({ labels: s.labels, value: s.values[i]! });
  }
  return samples;
}

function rangeFunction(func: RangeFunction, arg: MatrixSelector, series: readonly LoadedSeries[], t: number): Sample[] {
  const end = t - arg.selector.offsetMs;
  const start = end - arg.rangeMs;
  const samples: Sample[] = [];
  for (const s of series) {
    const window = windowOf(s, start, end);
    if (window.length === 0) continue;
    const ts = window.map((i) => s.ts[i]!);
    const values = window.map((i) => s.values[i]!);
    const value = func === 'rate' || func === 'increase' ? extrapolatedRate(ts, values, start, end, func === 'rate', arg.rangeMs) : overTime(func, values);
    if (value !== undefined) samples.push({ labels: withoutName(s.labels), value });
  }
  return samples;
}

/** Neumaier-compensated addition, as Prometheus' kahanSumInc. */
function kahanAdd(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

function overTime(func: RangeFunction, values: readonly number[]): number {
  switch (func) {
    case 'count_over_time':
      return values.length;
    case 'sum_over_time': {
      let sum = 0;
      let c = 0;
      for (const v of values) [sum, c] = kahanAdd(v, sum, c);
      return Number.isFinite(sum) ? sum + c : sum;
    }
    case 'avg_over_time': {
      let mean = 0;
      let c = 0;
      let count = 0;
      for (const v of values) {
        count++;
        if (!Number.isFinite(mean) && !Number.isNaN(mean)) {
          if (!Number.isFinite(v) && !Number.isNaN(v) && (mean > 0) === (v > 0)) continue;
          if (Number.isFinite(v)) continue;
        }
        [mean, c] = kahanAdd(v / count - mean / count, mean, c);
      }
      return !Number.isFinite(mean) && !Number.isNaN(mean) ? mean : mean + c;
    }
    case 'min_over_time':
      return values.reduce((min, v) => (v < min || Number.isNaN(min) ? v : min), values[0]!);
    case 'max_over_time':
      return values.reduce((max, v) => (v > max || Number.isNaN(max) ? v : max), values[0]!);
    default:
      throw new Error(`${func} is not an _over_time function`);
  }
}

/**
 * rate() and increase() over the samples of [rangeStart, rangeEnd]: counter resets
 * added back, extrapolated to the edges of the range as Prometheus does (up to
 * half a sample interval beyond the outer samples, never below a zero counter).
 */
function extrapolatedRate(ts: readonly number[], values: readonly number[], rangeStart: number, rangeEnd: number, isRate: boolean, rangeMs: number): number | undefined {
  const n = ts.length;
  if (n < 2) return undefined;
  const first = values[0]!;
  let result = values[n - 1]! - first;
  let previous = first;
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    if (v < previous) result += previous;
    previous = v;
  }
  let durationToStart = (ts[0]! - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - ts[n - 1]!) / 1000;
  const sampledInterval = (ts[n - 1]! - ts[0]!) / 1000;
  const averageInterval = sampledInterval / (n - 1);
  if (result > 0 && first >= 0) {
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
}

function aggregate(op: AggregateOp, grouping: readonly string[], without: boolean, samples: readonly Sample[]): Sample[] {
  const groups = new Map<string, { labels: Labels; value: number; mean: number; count: number }>();
  const keep = new Set(grouping);
  for (const { labels, value } of samples) {
    const groupLabels: Record<string, string> = {};
    for (const [name, v] of Object.entries(labels)) {
      if (without ? !keep.has(name) && name !== NAME_LABEL : keep.has(name)) groupLabels[name] = v;
    }
    const key = labelsKey(groupLabels);
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { labels: groupLabels, value, mean: value, count: 1 });
      continue;
    }
    group.count++;
    switch (op) {
      case 'sum':
        group.value += value;
        break;
      case 'avg':
        if (!Number.isFinite(group.mean) && !Number.isNaN(group.mean)) {
          if (!Number.isFinite(value) && !Number.isNaN(value) && (group.mean > 0) === (value > 0)) break;
          if (Number.isFinite(value)) break;
        }
        group.mean += value / group.count - group.mean / group.count;
        break;
      case 'max':
        if (group.value < value || Number.isNaN(group.value)) group.value = value;
        break;
      case 'min':
        if (group.value > value || Number.isNaN(group.value)) group.value = value;
        break;
      case 'count':
        break;
    }
  }
  return [...groups.values()].map(({ labels, value, mean, count }) => ({ labels, value: op === 'avg' ? mean : op === 'count' ? count : value }));
}

function arithmetic(op: ArithmeticOp, lhs: number, rhs: number): number {
  switch (op) {
    case '+':
      return lhs + rhs;
    case '-':
      return lhs - rhs;
    case '*':
      return lhs * rhs;
    case '/':
      return lhs / rhs;
    case '%':
      return lhs % rhs; // Go's math.Mod: the sign of the dividend, as JavaScript's %
    case '^':
      return Math.pow(lhs, rhs);
  }
}

function withoutName(labels: Labels): Labels {
  if (!(NAME_LABEL in labels)) return labels;
  const { [NAME_LABEL]: _name, ...rest } = labels;
  return rest;
}

/** Throws Prometheus' execution error when two samples of a vector have the same labels (after dropping names). */
function distinct(samples: Sample[]): Sample[] {
  const seen = new Set<string>();
  for (const { labels } of samples) {
    const key = labelsKey(labels);
    if (seen.has(key)) throw new MeetrError('query_failed', 'vector cannot contain metrics with the same labelset');
    seen.add(key);
  }
  return samples;
}

/** A label set as a string, equal for equal sets. */
export function labelsKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => compareText(a, b)));
}

/** Prometheus' order of label sets: label by label (sorted by name), name then value; a prefix first. */
export function compareLabels(a: Labels, b: Labels): number {
  const left = Object.entries(a).sort(([x], [y]) => compareText(x, y));
  const right = Object.entries(b).sort(([x], [y]) => compareText(x, y));
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const byName = compareText(left[i]![0], right[i]![0]);
    if (byName !== 0) return byName;
    const byValue = compareText(left[i]![1], right[i]![1]);
    if (byValue !== 0) return byValue;
  }
  return left.length - right.length;
}

/** A sample value as Prometheus writes it in JSON: shortest round-trip digits, never an exponent; NaN, +Inf, -Inf. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const text = String(value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign, lead, fraction = '', exponentText] = match;
  const digits = `${lead}${fraction}`;
  const exponent = Number(exponentText);
  if (exponent >= 0) return `${sign}${digits.padEnd(exponent + 1, '0')}`;
  return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
}
