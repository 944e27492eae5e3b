/**
 * Asking Prometheus and meetr the same PromQL and comparing the answers, for the
 * differential tiers (promql-differential.test.ts, promql-sealed.test.ts): the same
 * series, timestamps and values to Prometheus' own test tolerance (promql/test.go:
 * relative 1e-6), or the same error type.
 */
import { expect } from 'vitest';
import { forEachBounded } from '../../src/concurrency.js';

export type Answer = {
  status: string;
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown };
};
type Series = { metric: Record<string, string>; values?: Array<[number, string]>; value?: [number, string] };

export async function ask(
  base: string,
  path: string,
  params: Record<string, string>,
): Promise<{ status: number; body: Answer }> {
  const response = await fetch(`${base}${path}?${new URLSearchParams(params).toString()}`);
  return { status: response.status, body: (await response.json()) as Answer };
}

/** Prometheus' almostEqual (promql/test.go): equal, both NaN, or within 1e-6 relative. */
function almostEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const [x, y] = [Number(a), Number(b)];
  if (Number.isNaN(x) && Number.isNaN(y)) return true;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  const diff = Math.abs(x - y);
  if (x === 0 || y === 0 || diff < 2.2250738585072014e-308)
    return diff < 1e-6 * 2.2250738585072014e-308 || diff < 1e-12;
  return diff / (Math.abs(x) + Math.abs(y)) < 1e-6;
}

const key = (labels: Record<string, string>): string =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Where two answers differ, or undefined when they agree. Vectors are compared in order only where the query sorts. */
export function difference(
  mine: { status: number; body: Answer },
  theirs: { status: number; body: Answer },
  ordered: boolean,
): string | undefined {
  if (theirs.body.status === 'error' || mine.body.status === 'error') {
    if (mine.body.errorType === theirs.body.errorType && mine.status === theirs.status) return undefined;
    return `Prometheus: ${theirs.status} ${theirs.body.errorType ?? ''} ${theirs.body.error ?? ''}; meetr: ${mine.status} ${mine.body.errorType ?? ''} ${mine.body.error ?? ''}`;
  }
  const [a, b] = [mine.body.data!, theirs.body.data!];
  if (a.resultType !== b.resultType) return `result type ${a.resultType}, Prometheus ${b.resultType}`;
  if (a.resultType === 'scalar' || a.resultType === 'string') {
    const [[ta, va], [tb, vb]] = [a.result as [number, string], b.result as [number, string]];
    return ta === tb && (a.resultType === 'string' ? va === vb : almostEqual(va, vb))
      ? undefined
      : `${JSON.stringify(a.result)} vs Prometheus ${JSON.stringify(b.result)}`;
  }
  const [left, right] = [a.result as Series[], b.result as Series[]];
  const mineKeys = left.map((s) => key(s.metric));
  const theirKeys = right.map((s) => key(s.metric));
  if (
    JSON.stringify(ordered ? mineKeys : [...mineKeys].sort()) !==
    JSON.stringify(ordered ? theirKeys : [...theirKeys].sort())
  )
    return `series ${mineKeys.join(' ')} vs Prometheus ${theirKeys.join(' ')}`;
  const byKey = new Map(left.map((s) => [key(s.metric), s]));
  for (const series of right) {
    const other = byKey.get(key(series.metric))!;
    const [points, otherPoints] =
      series.values !== undefined ? [series.values, other.values ?? []] : [[series.value!], [other.value!]];
    if (points.length !== otherPoints.length)
      return `${key(series.metric)}: ${otherPoints.length} points vs Prometheus ${points.length}`;
    for (const [i, [t, v]] of points.entries()) {
      const [ot, ov] = otherPoints[i]!;
      if (ot !== t || !almostEqual(ov, v)) return `${key(series.metric)} @${t}: ${ot} ${ov} vs Prometheus ${v}`;
    }
  }
  return undefined;
}

/** One question of a query: instant or range, its path and parameters. */
export type Ask = readonly [kind: 'instant' | 'range', path: string, params: Record<string, string>];

export interface CorpusRun {
  readonly failures: string[];
  readonly answered: { withData: number; empty: number; errors: number };
}

/** Asks both every query of `corpus` as `asks` says; where they differ, and what Prometheus answered. */
export async function compareCorpus(
  meetrUrl: string,
  prometheusUrl: string,
  corpus: readonly string[],
  asks: (query: string) => readonly Ask[],
): Promise<CorpusRun> {
  const failures: string[] = [];
  const answered = { withData: 0, empty: 0, errors: 0 };
  await forEachBounded(corpus, 4, async (query) => {
    const ordered = /^\s*sort(_desc)?\(/.test(query);
    for (const [kind, path, params] of asks(query)) {
      const [mine, theirs] = await Promise.all([ask(meetrUrl, path, params), ask(prometheusUrl, path, params)]);
      const result = theirs.body.data?.result;
      if (theirs.body.status !== 'success') answered.errors++;
      else if (Array.isArray(result) && (result.length === 0 || typeof result[0] !== 'object'))
        answered[result.length === 0 ? 'empty' : 'withData']++;
      else answered.withData++;
      const differs = difference(mine, theirs, ordered && kind === 'instant');
      if (differs !== undefined)
        failures.push(`${kind} ${query} @${params.time ?? `${params.start}..${params.end}`}: ${differs}`);
    }
  });
  return { failures, answered };
}

/**
 * That the comparison meant something and found nothing: most answers hold data,
 * the corpus' errors are errors, a changed value is caught, and no answer differs.
 */
export function expectAgreement(run: CorpusRun, questions: number): void {
  const { failures, answered } = run;
  console.log(
    `Prometheus answered ${answered.withData} with data, ${answered.empty} empty, ${answered.errors} errors; meetr differed on ${failures.length}`,
  );
  expect(answered.withData).toBeGreaterThan(questions * 0.75);
  expect(answered.errors).toBeGreaterThan(40);
  const sample = {
    status: 200,
    body: { status: 'success', data: { resultType: 'vector', result: [{ metric: { a: '1' }, value: [1, '2'] }] } },
  };
  const changed = {
    ...sample,
    body: { ...sample.body, data: { resultType: 'vector', result: [{ metric: { a: '1' }, value: [1, '2.0001'] }] } },
  };
  expect(difference(changed, sample, false)).toBeDefined();
  expect(failures, `${failures.length} answers differ:\n${failures.slice(0, 60).join('\n')}`).toEqual([]);
}
