/**
 * min_over_time, max_over_time and count_over_time on quarters, answered from
 * rollups (promql/rollup-windows.ts), over the in-memory store with a roller: every
 * answer equals the same query worked out from the samples, while hours are open,
 * sealed, written to again, resealed, hold NaN, ±Inf, -0 or staleness markers, and
 * the roller stops half-way. (On Cassandra, through HAProxy: test/functional.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpecialValue } from '../../src/domain/point.js';
import type { CompiledMatcher } from '../../src/domain/series.js';
import { createQueryEngine, type QueryEngine, type SeriesFinder } from '../../src/promql/query-engine.js';
import { rolledCalls } from '../../src/promql/rollup-windows.js';
import { parsePromql } from '../../src/promql/parser.js';
import type { SearchService } from '../../src/query/search-service.js';
import { SEAL_AFTER_MS } from '../../src/roller/hour-seal.js';
import { UNBOUNDED } from '../../src/work-scope.js';
import { rollingWorld } from '../support/rolling-world.js';
import { insertRequest, TEST_MAX_HOLD_MS } from '../support/services.js';

const M = 60_000;
const HOUR = 60 * M;
const base = Date.parse('2024-03-09T00:00:00Z');
const SPAN = 6 * HOUR;
const METRICS = ['a', 'b'] as const;

/** The two series, named x, as the catalogue would find them. */
const finder: SeriesFinder = {
  async select(sets: ReadonlyArray<readonly CompiledMatcher[]>) {
    const wanted = sets.some((set) => set.every((m) => m.matches('x') || m.name !== '__name__'));
    if (!wanted) return [];
    return METRICS.map((m) => ({ metricId: m, labels: { __name__: 'x', m }, firstDay: 0, lastDay: 1e6 }));
  },
};

function engines(search: SearchService): { rolled: QueryEngine; sampled: QueryEngine; plain: () => number } {
  let plain = 0;
  const counting: SearchService = {
    ...search,
    async windows(queries, scope) {
      const answers = await search.windows(queries, scope);
      for (const { plain: buckets } of answers) plain += buckets.reduce((n, b) => n + b, 0);
      return answers;
    },
  };
  const limits = { maxSamples: 1_000_000, maxConcurrent: 4, maxWaiting: 8 };
  return {
    rolled: createQueryEngine({ catalogue: finder, search: counting, ...limits }),
    sampled: createQueryEngine({ catalogue: finder, search: { samples: search.samples.bind(search) }, ...limits }),
    plain: () => plain,
  };
}

function world() {
  const w = rollingWorld(base + SPAN - 20 * M);
  return {
    ...w,
    ...engines(w.search),
    async writeSpecial(metricId: string, samples: readonly SpecialValue[]) {
      const request = insertRequest({ receivedMs: w.clock.now });
      await w.ingest.ingest(
        [],
        request,
        samples.map((sample) => ({ ...sample, metricId })),
      );
      w.clock.now += 1;
    },
    async roll(slots?: number) {
      w.clock.now += TEST_MAX_HOLD_MS + 10_000;
      await w.roller.balance();
      let rolled = 0;
      await w.roller.rollDue(() => slots !== undefined && rolled++ >= slots);
    },
  };
}

type World = ReturnType<typeof world>;

/** A query on hours: its function, range, step, offset (hours), first step (hours from base) and steps; no window shorter than the step. */
const queryArb = fc
  .record({
    func: fc.constantFrom('max_over_time', 'min_over_time', 'count_over_time'),
    range: fc.constantFrom(1, 2, 3),
    step: fc.constantFrom(1, 1, 2),
    offset: fc.constantFrom(0, 0, 1),
    start: fc.integer({ min: 0, max: 6 }),
    steps: fc.integer({ min: 1, max: 8 }),
    // Where the call stands: alone, under an aggregation, an operator or a function, beside calls read as samples.
    shape: fc.constantFrom(
      'F',
      'max by (m) (F)',
      'sum(F)',
      'F > 3',
      '-F',
      'abs(F) + count_over_time(x[15m])',
      'F - on (m) max_over_time(x[45m] offset 15m)',
      'topk(1, F)',
    ),
  })
  .filter(({ range, step }) => range >= step);

type Query = typeof queryArb extends fc.Arbitrary<infer Q> ? Q : never;

async function expectSame(w: World, queries: readonly Query[], when: string): Promise<void> {
  for (const q of queries) {
    const offset = q.offset === 0 ? '' : ` offset ${q.offset}h`;
    const text = q.shape.replace('F', `${q.func}(x[${q.range}h]${offset})`);
    const start = base + q.start * HOUR;
    const end = start + (q.steps - 1) * q.step * HOUR;
    expect(rolledCalls(parsePromql(text), [start, end, q.step * HOUR], 1e6).length, text).toBeGreaterThan(0);
    const [rolled, sampled] = await Promise.all(
      [w.rolled, w.sampled].map((engine) => engine.range(text, start, end, q.step * HOUR, UNBOUNDED)),
    );
    expect(rolled, `${when}: ${text} from ${q.start} for ${q.steps} steps of ${q.step}`).toEqual(sampled);
  }
}

describe('*_over_time from rollups', () => {
  it('are asked only of windows on whole hours that leave no gap between them', () => {
    const times = (start: number, steps: number, step: number): [number, number, number] => [
      base + start,
      base + start + (steps - 1) * step,
      step,
    ];
    const calls = (query: string, at: [number, number, number]) => rolledCalls(parsePromql(query), at, 1e6).length;
    expect(calls('max_over_time(x[1h])', times(HOUR, 10, HOUR))).toBe(1);
    expect(calls('max_over_time(x[1d]) + min_over_time(x[2h] offset 1h)', times(0, 10, HOUR))).toBe(2);
    expect(calls('max_over_time(x[1h])', times(HOUR, 10, 2 * HOUR)), 'gaps between windows').toBe(0);
    expect(calls('max_over_time(x[15m])', times(HOUR, 10, 15 * M)), 'quarters').toBe(0);
    expect(calls('max_over_time(x[1h])', times(HOUR + 15 * M, 10, HOUR)), 'ends between hours').toBe(0);
    expect(calls('max_over_time(x[1h] offset 30m)', times(HOUR, 10, HOUR))).toBe(0);
    expect(calls('max_over_time(x[1h] @ 3600)', times(HOUR, 10, HOUR))).toBe(0);
    expect(calls('sum_over_time(x[1h])', times(HOUR, 10, HOUR))).toBe(0);
    expect(calls('max_over_time(max_over_time(x[1h])[2h:1h])', times(HOUR, 10, HOUR)), 'in a subquery').toBe(0);
    expect(calls('max_over_time(x[1h])', times(HOUR, 1, 0)), 'an instant query').toBe(0);
  });

  it('equal the same query from samples, through late writes, upserts, special samples, -0 and a roller stopped half-way', async () => {
    const value = fc.oneof(
      fc.integer({ min: -50, max: 50 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(0, -0),
    );
    // On the quarters, where windows end, as often as anywhere.
    const ts = fc.oneof(
      fc.integer({ min: 0, max: SPAN - 1 }),
      fc.integer({ min: 0, max: SPAN / (15 * M) - 1 }).map((q) => q * 15 * M),
    );
    const point = fc.tuple(fc.constantFrom(...METRICS), ts, value);
    const special = fc.tuple(
      fc.constantFrom(...METRICS),
      ts,
      fc.constantFrom<[number, boolean]>([NaN, true], [NaN, false], [Infinity, false], [-Infinity, false]),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(point, { minLength: 1, maxLength: 120 }),
        fc.array(point, { maxLength: 20 }),
        fc.array(special, { maxLength: 4 }),
        fc.nat({ max: 6 }),
        fc.array(queryArb, { minLength: 1, maxLength: 4 }),
        async (first, late, specials, stopAfter, queries) => {
          const w = world();
          const write = async (points: typeof first): Promise<void> => {
            for (const metricId of METRICS)
              await w.write(
                metricId,
                points.filter(([m]) => m === metricId).map(([, offset, v]) => [base + offset, v]),
              );
          };
          await write(first);
          await expectSame(w, queries, 'written');
          await w.roll();
          await expectSame(w, queries, 'rolled, the last hour open');
          w.clock.now += HOUR + SEAL_AFTER_MS;
          await w.roll();
          await expectSame(w, queries, 'every hour sealed');
          await write(late);
          for (const metricId of METRICS) {
            const mine = specials.filter(([m]) => m === metricId);
            const byTs = new Map(mine.map(([, t, [v, stale]]) => [base + t, { ts: base + t, value: v, stale }]));
            if (byTs.size > 0) await w.writeSpecial(metricId, [...byTs.values()]);
          }
          await expectSame(w, queries, 'written again, not rolled');
          await w.roll(stopAfter);
          await expectSame(w, queries, 'the roller stopped half-way');
          await w.roll();
          await expectSame(w, queries, 'resealed');
          w.store.expireRaw();
          await expectSame(w, queries, 'raw rows expired: from the chunks alone');
        },
      ),
      { numRuns: 80 },
    );
  }, 120_000);

  it('answer sealed plain hours from their rollups, and hours with NaN, ±Inf or -0 from their samples', async () => {
    const w = world();
    for (const metricId of METRICS)
      await w.write(
        metricId,
        Array.from({ length: SPAN / 15_000 }, (_, i) => [base + i * 15_000, (i * 7) % 23] as const),
      );
    w.clock.now += HOUR + SEAL_AFTER_MS;
    await w.roll();
    const queries: Query[] = [{ func: 'max_over_time', range: 1, step: 1, offset: 0, start: 1, steps: 5, shape: 'F' }];
    await expectSame(w, queries, 'sealed');
    // Five windows of two series, each of four hour buckets and the quarter at its end.
    expect(w.plain()).toBe(2 * (5 + 1));
    const reads = w.store.calls.readChunks;
    await w.rolled.range('max_over_time(x[1h])', base + HOUR, base + 5 * HOUR, HOUR, UNBOUNDED);
    expect(w.store.calls.readChunks - reads, 'no chunk read').toBe(0);

    await w.write('a', [[base + 2 * HOUR + 5 * M, -0]]);
    await w.writeSpecial('b', [{ ts: base + 3 * HOUR + 7 * M, value: Infinity, stale: false }]);
    w.clock.now += HOUR;
    await w.roll();
    const before = w.plain();
    await expectSame(w, queries, '-0 in a and +Inf in b, resealed');
    // Each series' hour with -0 or +Inf is not plain: its windows are read as samples.
    expect(w.plain() - before).toBe(2 * (5 + 1) - 2);
  });
});
