/**
 * A range query works a range function of a range selector out for every step at
 * once (range-steps.ts); an instant query windows the series at its one time. The
 * property: every step of a range query equals the instant query at that step's
 * time, over random series with gaps, NaN and staleness markers; aggregations of
 * such values are worked out for every step at once too (range-aggregation.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Evaluator } from '../../src/promql/evaluator.js';
import { parsePromql } from '../../src/promql/parser.js';
import { selectorWindows } from '../../src/promql/read-windows.js';
import type { LoadedSeries } from '../../src/promql/selectors.js';
import { labelsKey } from '../../src/promql/values.js';
import type { VectorSelector } from '../../src/promql/ast.js';

const M = 60_000;
const START = Date.parse('2026-03-01T00:00:00Z');

const QUERIES = [
  'rate(x[5m])',
  'sum by (g) (increase(x[3m]))',
  'delta(x[4m] offset 2m)',
  'irate(x[90s])',
  'max_over_time(x[7m])',
  'min_over_time(x[30s])',
  'avg_over_time(x[6m]) * 2',
  'sum_over_time(x[2m])',
  'count_over_time(x[1m])',
  'last_over_time(x[5m])',
  'quantile_over_time(0.3, x[10m])',
  'stddev_over_time(x[5m])',
  'changes(x[5m]) + resets(x[5m])',
  'deriv(x[5m])',
  'predict_linear(x[5m], 600)',
  'holt_winters(x[10m], 0.5, 0.4)',
  `rate(x[5m] @ ${(START + 20 * M) / 1000})`,
  'max_over_time(rate(x[2m])[6m:1m])',
  'absent_over_time(x[1m])',
  'x',
  'avg without (i) (rate(x[5m]))',
  'count(x)',
  'min by (g) (x)',
  'max(max_over_time(x[7m]))',
  'stddev by (g) (deriv(x[5m]))',
  'stdvar without (g) (x)',
  'group by (g) (last_over_time(x[5m]))',
  'sum by (__name__) (x)',
];

/** One series of samples: times on the 15 s grid (window edges) or anywhere, values with NaN, some staleness markers. */
const seriesArb = fc
  .uniqueArray(
    fc.record({
      ts: fc.oneof(
        fc.integer({ min: 0, max: 240 }).map((k) => START - 15 * M + k * 15_000),
        fc.integer({ min: START - 15 * M, max: START + 45 * M }),
      ),
      value: fc.oneof(fc.double({ min: -1e3, max: 1e3 }), fc.integer({ min: 0, max: 50 })),
      stale: fc.boolean(),
    }),
    { maxLength: 80, selector: (s) => s.ts },
  )
  .map((samples) => {
    samples.sort((a, b) => a.ts - b.ts);
    const stale = new Set(samples.flatMap((s, i) => (s.stale && i % 5 === 0 ? [i] : [])));
    return { ts: samples.map((s) => s.ts), values: samples.map((s) => s.value), stale };
  });

/** Each selector of `query` given the same series (labels g=0, g=1, ...). */
function dataOf(query: string, samples: ReadonlyArray<Omit<LoadedSeries, 'labels'>>) {
  const expr = parsePromql(query);
  const data = new Map<VectorSelector, LoadedSeries[]>();
  for (const selector of selectorWindows(expr, START, START).keys())
    data.set(
      selector,
      samples.map((s, i) => ({ labels: { __name__: 'x', g: String(i % 2), i: String(i) }, ...s })),
    );
  return { expr, data };
}

function options(data: Map<VectorSelector, LoadedSeries[]>, startMs: number, endMs: number) {
  return {
    data,
    startMs,
    endMs,
    maxSamples: 1_000_000,
    loadedSamples: 0,
    defaultSubqueryStepMs: M,
    scope: { signal: new AbortController().signal, deadlineMs: Date.now() + 60_000 },
  };
}

function evaluator(data: Map<VectorSelector, LoadedSeries[]>, startMs: number, endMs: number): Evaluator {
  return new Evaluator(options(data, startMs, endMs));
}

describe('a range query, worked out series by series for every step', () => {
  it('answers at each step what an instant query at that time answers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...QUERIES),
        fc.array(seriesArb, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(30_000, M, 7 * M),
        async (query, samples, stepMs) => {
          const { expr, data } = dataOf(query, samples);
          const endMs = START + 40 * M;
          const range = await evaluator(data, START, endMs).range(expr, stepMs);
          const byStep = new Map<number, Map<string, number>>();
          for (const { labels, ts, values } of range)
            Array.from(ts).forEach((t, i) => {
              if (!byStep.has(t)) byStep.set(t, new Map());
              byStep.get(t)!.set(labelsKey(labels), values[i]!);
            });
          for (let t = START; t <= endMs; t += stepMs) {
            const instant = await evaluator(data, t, t).instant(expr);
            const expected =
              instant.type === 'vector'
                ? new Map(instant.samples.map((s) => [labelsKey(s.labels), s.value]))
                : new Map(instant.type === 'scalar' ? [[labelsKey({}), instant.value]] : []);
            expect(byStep.get(t) ?? new Map()).toEqual(expected);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('a range query answered whole from its steps', () => {
  const series = (name: string, values: number[]): LoadedSeries => ({
    labels: { __name__: name, job: 'a' },
    ts: values.map((_, i) => START + i * M),
    values,
  });
  const rangeOf = (query: string, data: LoadedSeries[], maxSamples: number, loaded: number) => {
    const expr = parsePromql(query);
    const selectors = new Map([...selectorWindows(expr, START, START).keys()].map((s) => [s, data]));
    return new Evaluator({ ...options(selectors, START, START + 2 * M), maxSamples, loadedSamples: loaded }).range(
      expr,
      M,
    );
  };

  it('refuses two series that give the same labels once their names are dropped, and keeps them apart by name', async () => {
    const twins = [series('x', [1, 2, 3]), series('y', [1, 2, 3])];
    await expect(rangeOf('rate({job="a"}[2m])', twins, 1000, 6)).rejects.toThrow(/same labelset/);
    const kept = await rangeOf('last_over_time({job="a"}[2m])', twins, 1000, 6);
    expect(kept.map((s) => s.labels.__name__)).toEqual(['x', 'y']);
  });

  it('holds samples as a step-by-step evaluation does: its loaded samples, each step and its output', async () => {
    // Six loaded; each of three steps holds its two samples while the step is evaluated and for good: 6 + 2 + 2 + 2 + 2 = 14 at the last step.
    const two = [series('x', [1, 2, 3]), series('z', [4, 5, 6])];
    expect(await rangeOf('x', two.slice(0, 1), 8, 3)).toHaveLength(1);
    await expect(rangeOf('{job="a"}', two, 14, 6)).resolves.toHaveLength(2);
    await expect(rangeOf('{job="a"}', two, 13, 6)).rejects.toThrow(/too many samples/);
  });

  it('holds samples as a step-by-step aggregation does: the windows, the input vector, the output while evaluated and kept', async () => {
    // Three steps; at the last, 6 + 1 kept before, 6 in the windows, 2 rates, 1 sum while evaluated and 1 kept: 17.
    const two = [series('x', [1, 2, 3]), series('z', [4, 5, 6])].map((s, i) => ({
      ...s,
      labels: { ...s.labels, i: String(i) },
    }));
    await expect(rangeOf('sum(rate({job="a"}[2m]))', two, 17, 6)).resolves.toHaveLength(1);
    await expect(rangeOf('sum(rate({job="a"}[2m]))', two, 16, 6)).rejects.toThrow(/too many samples/);
    // An instant selector: at the last step 6 + 2 kept before, 2 samples, 1 sum while evaluated and 1 kept: 12.
    await expect(rangeOf('sum({job="a"})', two, 12, 6)).resolves.toHaveLength(1);
    await expect(rangeOf('sum({job="a"})', two, 11, 6)).rejects.toThrow(/too many samples/);
  });

  it('leaves an aggregation of two series that give the same labels to the step-by-step evaluation, which refuses it', async () => {
    const twins = [series('x', [1, 2, 3]), series('y', [1, 2, 3])];
    await expect(rangeOf('sum(rate({job="a"}[2m]))', twins, 1000, 6)).rejects.toThrow(/same labelset/);
    const summed = await rangeOf('sum by (__name__) (last_over_time({job="a"}[2m]))', twins, 1000, 6);
    expect(summed.map((s) => [s.labels.__name__, Array.from(s.values)])).toEqual([
      ['x', [1, 2, 3]],
      ['y', [1, 2, 3]],
    ]);
  });
});

describe('a query past its deadline before it evaluates', () => {
  it("stops with Prometheus' timeout error even with nothing to evaluate, as a range and as an instant query", async () => {
    const expr = parsePromql('count_over_time(x[1h])');
    const late = {
      ...options(new Map(), START, START + 60 * M),
      scope: { signal: new AbortController().signal, deadlineMs: Date.now() - 1 },
    };
    await expect(new Evaluator(late).range(expr, M)).rejects.toThrow('query timed out in expression evaluation');
    await expect(new Evaluator({ ...late, endMs: START }).instant(expr)).rejects.toThrow(
      'query timed out in expression evaluation',
    );
  });
});
