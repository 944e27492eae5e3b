/**
 * A series: a metric id seen as a set of labels. A Prometheus series is the meetr
 * metric id `name{a="1",b="2"}`, labels sorted by name, values escaped as
 * Prometheus writes them (\\, \", \n); a series with no label but its name is the
 * plain name, so the Meetr id `cpu.load` and the series `{__name__="cpu.load"}`
 * are the same metric. An id that is not in that canonical form is a plain name.
 */
import { compileAnchored } from './regex.js';

export interface Label {
  readonly name: string;
  readonly value: string;
}

/** A series' labels, `__name__` included, by name. */
export type Labels = Readonly<Record<string, string>>;

export const NAME_LABEL = '__name__';

export function seriesId(labels: readonly Label[]): string {
  let name = '';
  const others: Label[] = [];
  for (const label of labels) {
    if (label.name === NAME_LABEL) name = label.value;
    else if (label.value !== '') others.push(label); // an empty label is no label, in Prometheus
  }
  if (others.length === 0) return name;
  others.sort((a, b) => compareText(a.name, b.name));
  return `${name}{${others.map((l) => `${l.name}="${escapeLabelValue(l.value)}"`).join(',')}}`;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** Code-unit order, as Prometheus (Go) sorts label names and values. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Whether `name` is a valid Prometheus label name. */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

/**
 * The labels of a metric id: those of its canonical form when it is one
 * (seriesId gives it back), else the whole id as `__name__`.
 */
export function seriesLabels(metricId: string): Labels {
  const open = metricId.indexOf('{');
  if (open < 0 || !metricId.endsWith('}')) return { [NAME_LABEL]: metricId };
  const labels: Label[] = [{ name: NAME_LABEL, value: metricId.slice(0, open) }];
  let at = open + 1;
  const end = metricId.length - 1;
  while (at < end) {
    const eq = metricId.indexOf('="', at);
    if (eq < 0) return { [NAME_LABEL]: metricId };
    const name = metricId.slice(at, eq);
    let value = '';
    let i = eq + 2;
    for (; i < end && metricId[i] !== '"'; i++) {
      if (metricId[i] === '\\') {
        const next = metricId[++i];
        value += next === 'n' ? '\n' : (next ?? '');
      } else {
        value += metricId[i];
      }
    }
    labels.push({ name, value });
    at = i + 1;
    if (at < end && metricId[at] !== ',') return { [NAME_LABEL]: metricId };
    if (at < end) at++;
  }
  if (!labels.every((l, index) => index === 0 || isLabelName(l.name)) || seriesId(labels) !== metricId)
    return { [NAME_LABEL]: metricId };
  return Object.fromEntries(labels.map((l) => [l.name, l.value]));
}

/** A series' name: its `__name__`. */
export function seriesName(metricId: string): string {
  const open = metricId.indexOf('{');
  return open < 0 ? metricId : (seriesLabels(metricId)[NAME_LABEL] ?? metricId);
}

export type MatchOp = '=' | '!=' | '=~' | '!~';

/** A label matcher, as in a PromQL selector or a `match[]` parameter. */
export interface LabelMatcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

/** A matcher ready to test labels with (regular expressions compiled once). */
export interface CompiledMatcher extends LabelMatcher {
  /** Whether a label value (the empty string for a missing label) matches. */
  matches(value: string): boolean;
}

/** Distinct values one compiled regular expression remembers its answer for. */
const MATCH_CACHE_SIZE = 10_000;

/**
 * Compiles a matcher; a regular expression is RE2 (Go's syntax, linear time),
 * anchored at both ends, as Prometheus matches it. Throws SyntaxError with RE2's
 * message for a pattern RE2 refuses.
 */
export function compileMatcher(matcher: LabelMatcher): CompiledMatcher {
  const { op, value } = matcher;
  if (op === '=') return { ...matcher, matches: (v) => v === value };
  if (op === '!=') return { ...matcher, matches: (v) => v !== value };
  const regex = compileAnchored(value);
  // A selection tests the same names and values over and over (one per catalogue row): each is matched once.
  const seen = new Map<string, boolean>();
  const test = (v: string): boolean => {
    let matched = seen.get(v);
    if (matched === undefined) {
      matched = regex.test(v);
      if (seen.size < MATCH_CACHE_SIZE) seen.set(v, matched);
    }
    return matched;
  };
  return op === '=~' ? { ...matcher, matches: test } : { ...matcher, matches: (v) => !test(v) };
}

/** Whether labels satisfy every matcher (a missing label has the empty value). */
export function matchesAll(labels: Labels, matchers: readonly CompiledMatcher[]): boolean {
  return matchers.every((m) => m.matches(labels[m.name] ?? ''));
}

/** A series: its metric id, its labels (`__name__` included) and the UTC days its points span. */
export interface SeriesEntry {
  readonly metricId: string;
  readonly labels: Labels;
  readonly firstDay: number;
  readonly lastDay: number;
}
