/** What PromQL evaluates to, and the label-set helpers every part of the engine shares. Pure. */
import { compareText, NAME_LABEL, type Labels } from '../domain/series.js';
import { MeetrError } from '../errors.js';

export type { Labels };

/** One element of an instant vector. `ts` is the sample's own time (ms) where it came straight from a selector. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  readonly ts?: number;
}

export type Vector = Sample[];

/** One series of a range vector: its samples in [start, end] of a window are those at indexes first to last of ts and values (ascending). */
export interface RangeWindow {
  readonly labels: Labels;
  readonly ts: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  readonly first: number;
  readonly last: number;
}

/** A series of a range query's result: [ts in ms, value], ascending. */
export interface RangeSeries {
  readonly labels: Labels;
  /** Its steps' times (ms) and values, ascending. */
  readonly ts: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

/** A RangeSeries built a step at a time. */
export interface GrowingSeries extends RangeSeries {
  readonly ts: number[];
  readonly values: number[];
}

/** What an expression evaluates to at one time. */
export type StepValue =
  | { readonly type: 'scalar'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'vector'; readonly samples: Vector }
  | { readonly type: 'matrix'; readonly series: RangeWindow[] };

/** The samples of an instant vector; nothing for any other value. */
export function vectorOf(value: StepValue | undefined): Vector {
  return value?.type === 'vector' ? value.samples : [];
}

/**
 * Label sets are never changed once made, and one set meets the same step after step
 * (a series' labels, the result of dropping its name): each is keyed and stripped once.
 */
const keys = new WeakMap<Labels, string>();
const nameless = new WeakMap<Labels, Labels>();

/** A label set as a string, equal for equal sets. */
export function labelsKey(labels: Labels): string {
  let key = keys.get(labels);
  if (key === undefined)
    keys.set(labels, (key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => compareText(a, b)))));
  return key;
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

export function withoutName(labels: Labels): Labels {
  if (!(NAME_LABEL in labels)) return labels;
  let rest = nameless.get(labels);
  if (rest === undefined) {
    const { [NAME_LABEL]: _name, ...others } = labels;
    nameless.set(labels, (rest = others));
  }
  return rest;
}

/** Labels with `name` set to `value`; an empty value removes the label, as in Prometheus. */
export function withLabel(labels: Labels, name: string, value: string): Labels {
  const { [name]: _old, ...rest } = labels;
  return value === '' ? rest : { ...rest, [name]: value };
}

/** Each label set's groupings made so far, by grouping: a series meets the same one step after step. */
const grouped = new WeakMap<Labels, Map<string, Labels>>();
/** A grouping's key, by its list of names (one list per aggregation in a parsed query): by, then without. */
const groupings = new WeakMap<readonly string[], readonly [string, string]>();

/** Only the named labels (`keep`), or all but them (and the name) when `without`; the same set for the same input. */
export function groupLabels(labels: Labels, names: readonly string[], without: boolean): Labels {
  let keys = groupings.get(names);
  if (keys === undefined) {
    const joined = names.join('\u0000');
    groupings.set(names, (keys = [`+${joined}`, `-${joined}`]));
  }
  const grouping = keys[without ? 1 : 0];
  let made = grouped.get(labels);
  if (made === undefined) grouped.set(labels, (made = new Map()));
  let out = made.get(grouping);
  if (out === undefined) {
    const picked: Record<string, string> = {};
    for (const [name, value] of Object.entries(labels)) {
      if (without ? !names.includes(name) && name !== NAME_LABEL : names.includes(name)) picked[name] = value;
    }
    made.set(grouping, (out = picked));
  }
  return out;
}

/** A number as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it, and Prometheus' JSON: shortest round-trip digits, no exponent; NaN, +Inf, -Inf. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const text = String(value);
  if (!text.includes('e')) return text;
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign, lead, fraction = '', exponentText] = match;
  const digits = `${lead}${fraction}`;
  const exponent = Number(exponentText);
  if (exponent >= 0) return `${sign}${digits.padEnd(exponent + 1, '0')}`;
  return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
}

/** Neumaier-compensated addition, as Prometheus' kahanSumInc: returns [sum, compensation]. */
export function kahanAdd(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

/** Go's math.Pow where it differs from JavaScript's: 1 to any power and -1 to ±Inf are 1. */
export function goPow(base: number, exponent: number): number {
  if (base === 1 || exponent === 0) return 1;
  if (base === -1 && !Number.isFinite(exponent) && !Number.isNaN(exponent)) return 1;
  return Math.pow(base, exponent);
}

/** Prometheus' error for a query past its bound of samples held at once. */
export function tooManySamples(): MeetrError {
  return new MeetrError(
    'query_too_large',
    'query processing would load too many samples into memory in query execution',
  );
}

export function sameLabelset(): MeetrError {
  return new MeetrError('query_failed', 'vector cannot contain metrics with the same labelset');
}

/** Throws Prometheus' execution error when two samples of a vector have the same labels. */
export function distinct(samples: Vector): Vector {
  const seen = new Set<string>();
  for (const { labels } of samples) {
    const key = labelsKey(labels);
    if (seen.has(key)) throw sameLabelset();
    seen.add(key);
  }
  return samples;
}
