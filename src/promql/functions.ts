/**
 * The functions of instant vectors and scalars (functions.go): math, dates,
 * clamping and rounding, label_replace/label_join, sorting, histogram_quantile
 * over classic `le` buckets, absent, scalar/vector/time. Each gets its evaluated
 * arguments and the evaluation time (ms). Pure.
 */
import { groupOf } from '../domain/groups.js';
import { MeetrError } from '../errors.js';
import { compileAnchored, expandTemplate } from '../domain/regex.js';
import { isLabelName, NAME_LABEL } from '../domain/series.js';
import { unwrapParens, type Call } from './ast.js';
import { parseGoFloat } from './literals.js';
import { bucketQuantile, type Bucket } from './quantile.js';
import {
  labelsKey,
  vectorOf,
  withLabel,
  withoutName,
  type Labels,
  type Sample,
  type StepValue,
  type Vector,
} from './values.js';

type InstantFunction = (args: readonly StepValue[], call: Call, t: number) => StepValue;

const scalarOf = (value: StepValue | undefined): number => (value?.type === 'scalar' ? value.value : NaN);
const stringOf = (value: StepValue | undefined): string => (value?.type === 'string' ? value.value : '');
const vector = (samples: Vector): StepValue => ({ type: 'vector', samples });
const failed = (message: string): MeetrError => new MeetrError('query_failed', message);

/** A function of each sample's value; the name is dropped. */
function simple(f: (v: number) => number): InstantFunction {
  return ([arg]) => vector(vectorOf(arg).map((s) => ({ labels: withoutName(s.labels), value: f(s.value) })));
}

/** A date function: of each sample's value as seconds since the epoch (UTC), or of the evaluation time when called without argument. */
function date(f: (d: Date) => number): InstantFunction {
  return (args, _call, t) => {
    if (args.length === 0) return vector([{ labels: {}, value: f(new Date(Math.trunc(t / 1000) * 1000)) }]);
    return vector(
      vectorOf(args[0]).map((s) => ({
        labels: withoutName(s.labels),
        value: Number.isFinite(s.value) ? f(new Date(Math.trunc(s.value) * 1000)) : NaN,
      })),
    );
  };
}

/** Go's Day of the year (1-366) in UTC. */
function dayOfYear(d: Date): number {
  return (
    Math.round(
      (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000,
    ) + 1
  );
}

function sortBy(descending: boolean): InstantFunction {
  return ([arg]) => {
    const sorted = [...vectorOf(arg)].sort((a, b) => {
      if (Number.isNaN(a.value) || Number.isNaN(b.value))
        return Number(Number.isNaN(a.value)) - Number(Number.isNaN(b.value)); // NaN last either way
      return descending ? b.value - a.value : a.value - b.value;
    });
    return vector(sorted);
  };
}

function labelReplace([arg, dst, replacement, src, pattern]: readonly StepValue[]): StepValue {
  const [target, template, source, regexText] = [
    stringOf(dst),
    stringOf(replacement),
    stringOf(src),
    stringOf(pattern),
  ];
  let regex;
  try {
    regex = compileAnchored(regexText);
  } catch {
    throw failed(`invalid regular expression in label_replace(): ${regexText}`);
  }
  if (!isLabelName(target)) throw failed(`invalid destination label name in label_replace(): ${target}`);
  return vector(
    vectorOf(arg).map((s) => {
      const groups = regex.groups(s.labels[source] ?? '');
      if (groups === undefined) return { labels: s.labels, value: s.value };
      return { labels: withLabel(s.labels, target, expandTemplate(template, groups, regex.named)), value: s.value };
    }),
  );
}

function labelJoin([arg, dst, separator, ...sources]: readonly StepValue[]): StepValue {
  const target = stringOf(dst);
  const names = sources.map(stringOf);
  for (const name of names) if (!isLabelName(name)) throw failed(`invalid source label name in label_join(): ${name}`);
  if (!isLabelName(target)) throw failed(`invalid destination label name in label_join(): ${target}`);
  return vector(
    vectorOf(arg).map((s) => ({
      labels: withLabel(s.labels, target, names.map((n) => s.labels[n] ?? '').join(stringOf(separator))),
      value: s.value,
    })),
  );
}

function histogramQuantile([q, arg]: readonly StepValue[]): StepValue {
  const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const s of vectorOf(arg)) {
    const upperBound = parseGoFloat(s.labels.le ?? '');
    if (upperBound === undefined) continue;
    const { le: _le, ...rest } = s.labels;
    const group = groupOf(groups, labelsKey(rest), () => ({ labels: withoutName(rest), buckets: [] as Bucket[] }));
    group.buckets.push({ upperBound, count: s.value });
  }
  return vector([...groups.values()].map((g) => ({ labels: g.labels, value: bucketQuantile(scalarOf(q), g.buckets) })));
}

/** The labels absent() and absent_over_time() give: the equality matchers of a selector argument, once each. */
export function absentLabels(call: Call): Labels {
  const arg = unwrapParens(call.args[0]!);
  const selector = arg.kind === 'vector' ? arg : arg.kind === 'matrix' ? arg.selector : undefined;
  if (selector === undefined) return {};
  const labels: Record<string, string> = {};
  const seen = new Set<string>();
  for (const m of selector.matchers) {
    if (m.name === NAME_LABEL) continue;
    if (m.op === '=' && !seen.has(m.name)) {
      labels[m.name] = m.value;
      seen.add(m.name);
    } else {
      delete labels[m.name];
    }
  }
  for (const [name, value] of Object.entries(labels)) if (value === '') delete labels[name];
  return labels;
}

const clampSample = (s: Sample, min: number, max: number): Sample => ({
  labels: withoutName(s.labels),
  value: Math.max(min, Math.min(max, s.value)),
});

export const INSTANT_FUNCTIONS: Readonly<Record<string, InstantFunction>> = {
  abs: simple(Math.abs),
  ceil: simple(Math.ceil),
  floor: simple(Math.floor),
  exp: simple(Math.exp),
  sqrt: simple(Math.sqrt),
  ln: simple(Math.log),
  log2: simple(Math.log2),
  log10: simple(Math.log10),
  sin: simple(Math.sin),
  cos: simple(Math.cos),
  tan: simple(Math.tan),
  asin: simple(Math.asin),
  acos: simple(Math.acos),
  atan: simple(Math.atan),
  sinh: simple(Math.sinh),
  cosh: simple(Math.cosh),
  tanh: simple(Math.tanh),
  asinh: simple(Math.asinh),
  acosh: simple(Math.acosh),
  atanh: simple(Math.atanh),
  rad: simple((v) => (v * Math.PI) / 180),
  deg: simple((v) => (v * 180) / Math.PI),
  sgn: simple((v) => (v < 0 ? -1 : v > 0 ? 1 : v)),
  pi: () => ({ type: 'scalar', value: Math.PI }),
  time: (_args, _call, t) => ({ type: 'scalar', value: t / 1000 }),
  scalar: ([arg]) => {
    const samples = vectorOf(arg);
    return { type: 'scalar', value: samples.length === 1 ? samples[0]!.value : NaN };
  },
  vector: ([arg]) => vector([{ labels: {}, value: scalarOf(arg) }]),
  timestamp: ([arg], _call, t) =>
    vector(vectorOf(arg).map((s) => ({ labels: withoutName(s.labels), value: (s.ts ?? t) / 1000 }))),
  clamp: ([arg, min, max]) =>
    scalarOf(max) < scalarOf(min)
      ? vector([])
      : vector(vectorOf(arg).map((s) => clampSample(s, scalarOf(min), scalarOf(max)))),
  clamp_max: ([arg, max]) =>
    vector(vectorOf(arg).map((s) => ({ labels: withoutName(s.labels), value: Math.min(scalarOf(max), s.value) }))),
  clamp_min: ([arg, min]) =>
    vector(vectorOf(arg).map((s) => ({ labels: withoutName(s.labels), value: Math.max(scalarOf(min), s.value) }))),
  round: ([arg, to]) => {
    const inverse = 1 / (to === undefined ? 1 : scalarOf(to));
    return vector(
      vectorOf(arg).map((s) => ({
        labels: withoutName(s.labels),
        value: Math.floor(s.value * inverse + 0.5) / inverse,
      })),
    );
  },
  sort: sortBy(false),
  sort_desc: sortBy(true),
  label_replace: labelReplace,
  label_join: labelJoin,
  histogram_quantile: histogramQuantile,
  // Native histograms only: meetr stores float samples, which these functions skip.
  histogram_count: () => vector([]),
  histogram_sum: () => vector([]),
  histogram_fraction: () => vector([]),
  absent: ([arg], call) => (vectorOf(arg).length > 0 ? vector([]) : vector([{ labels: absentLabels(call), value: 1 }])),
  days_in_month: date((d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()),
  day_of_month: date((d) => d.getUTCDate()),
  day_of_week: date((d) => d.getUTCDay()),
  day_of_year: date(dayOfYear),
  hour: date((d) => d.getUTCHours()),
  minute: date((d) => d.getUTCMinutes()),
  month: date((d) => d.getUTCMonth() + 1),
  year: date((d) => d.getUTCFullYear()),
};
