/**
 * Sealed hours over the in-memory store: the samples PromQL reads (points and
 * special samples: NaN, ±Inf, staleness markers) equal a scan of what was written
 * whether an hour is open, sealed, written to again since it was sealed, or
 * resealed, and whatever a roller stopped half-way left; a sealed hour
 * is read from its chunk, not from its raw points. (On Cassandra: test/integration.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { finalize, PointFold } from '../../src/domain/aggregate.js';
import { decodeChunk } from '../../src/domain/chunk-decoder.js';
import type { SearchQuery } from '../../src/query/search-service.js';
import { query } from '../support/search-query.js';
import type { MetricSamples, SpecialValue, TimeSpan } from '../../src/domain/point.js';
import { withSpecialSamples } from '../../src/promql/selectors.js';
import { mergeSpans } from '../../src/promql/read-windows.js';
import { chunkPeriod, HOURS_PER_CHUNK_PERIOD } from '../../src/domain/partitions.js';
import type { RangeReader } from '../../src/storage/ports.js';
import { chunksOfSeries } from '../../src/storage/sealed-reads.js';
import { StorageUnavailableError } from '../../src/errors.js';
import { SEAL_AFTER_MS } from '../../src/roller/hour-seal.js';
import { NO_RETENTION, rawTtlSeconds } from '../../src/rollup/retention.js';
import { UNBOUNDED } from '../../src/work-scope.js';
import { rollingWorld } from '../support/rolling-world.js';
import { insertRequest, searchService, TEST_MAX_HOLD_MS } from '../support/services.js';

const HOUR = 3_600_000;
const base = Date.parse('2024-03-09T00:00:00Z');
/** The points' span: six hours, the last one open when the test starts. */
const SPAN = 6 * HOUR;

function world() {
  const w = rollingWorld(base + SPAN - 20 * 60_000);
  const { clock, ingest, roller, raw } = w;
  const specials = new Map<string, Map<number, SpecialValue>>();
  return {
    ...w,
    async writeSpecial(metricId: string, samples: readonly SpecialValue[]) {
      await ingest.ingest(
        [],
        insertRequest({ receivedMs: clock.now }),
        samples.map((sample) => ({ ...sample, metricId })),
      );
      const stored = specials.get(metricId) ?? new Map<number, SpecialValue>();
      for (const sample of samples) stored.set(sample.ts, sample);
      specials.set(metricId, stored);
      clock.now += 1;
    },
    /** Lets every hold given so far end, then rolls at most `slots` due slots (all of them when undefined). */
    async roll(slots?: number) {
      clock.now += TEST_MAX_HOLD_MS + 10_000;
      await roller.balance();
      let rolled = 0;
      await roller.rollDue(() => slots !== undefined && rolled++ >= slots);
    },
    /** What a scan of the raw points holds in [fromMs, toMs]. */
    expected(metricId: string, fromMs: number, toMs: number): { ts: number[]; values: number[] } {
      const points = [...(raw.get(metricId) ?? [])]
        .filter(([ts]) => ts >= fromMs && ts <= toMs)
        .sort(([a], [b]) => a - b);
      return { ts: points.map(([ts]) => ts), values: points.map(([, value]) => value) };
    },
    /** What the Meetr API answers from a scan of the points written. */
    expectedSearch(q: SearchQuery): { value: number | null; count: number } {
      const fold = new PointFold();
      for (const [ts, value] of [...(raw.get(q.metricId) ?? [])].sort(([x], [y]) => x - y))
        if (ts >= q.fromMs && ts <= q.toMs) fold.add(ts, value);
      return { value: finalize(fold.partial, q.aggregation), count: fold.partial.count };
    },
    /** The series PromQL sees from a scan of the points and special samples written, in [fromMs, toMs]. */
    expectedSeries(metricId: string, fromMs: number, toMs: number) {
      return this.expectedWithin(metricId, [[fromMs, toMs]]);
    },
    /** The same within any of `spans`. */
    expectedWithin(metricId: string, spans: readonly TimeSpan[]) {
      const within = (ts: number): boolean => spans.some(([from, to]) => ts >= from && ts <= to);
      const points = [...(raw.get(metricId) ?? [])].filter(([ts]) => within(ts)).sort(([a], [b]) => a - b);
      const special = [...(specials.get(metricId)?.values() ?? [])]
        .filter(({ ts }) => within(ts))
        .sort((a, b) => a.ts - b.ts);
      return seriesOf({
        metricId,
        ts: Float64Array.from(points, ([ts]) => ts),
        values: Float64Array.from(points, ([, v]) => v),
        special,
      });
    },
  };
}

type World = ReturnType<typeof world>;

/** Samples as PromQL's engine takes them: points and special samples in one run, stale markers by index. */
function seriesOf(samples: MetricSamples) {
  const { ts, values, stale } = withSpecialSamples(samples);
  return { ts: Array.from(ts), values: Array.from(values), stale: [...(stale ?? [])] };
}

async function seriesRead(w: World, metricIds: readonly string[], fromMs: number, toMs: number, search = w.search) {
  const answers = await search.samples(
    metricIds.map((metricId) => ({ metricId, fromMs, toMs })),
    1_000_000,
    UNBOUNDED,
  );
  return answers.map(seriesOf);
}

/** A read of several spans of each series, as a range query whose windows are shorter than its step makes. */
async function spansRead(w: World, metricIds: readonly string[], spans: readonly TimeSpan[], search = w.search) {
  const [fromMs, toMs] = [spans[0]![0], spans[spans.length - 1]![1]];
  const answers = await search.samples(
    metricIds.map((metricId) => ({ metricId, fromMs, toMs, spans })),
    1_000_000,
    UNBOUNDED,
  );
  return answers.map(seriesOf);
}

async function samplesOf(w: World, metricIds: readonly string[], fromMs: number, toMs: number) {
  const answers = await w.search.samples(
    metricIds.map((metricId) => ({ metricId, fromMs, toMs })),
    1_000_000,
    UNBOUNDED,
  );
  return answers.map(({ ts, values }) => ({ ts: Array.from(ts), values: Array.from(values) }));
}

describe('samples of sealed hours', () => {
  it('equal a scan of what was written: open, sealed, written again, resealed, with the roller stopped half-way, and once raw rows expired', async () => {
    // Points are finite, as every ingest path keeps them (NaN and ±Inf are special samples, below).
    const value = fc.oneof(
      fc.integer({ min: -1000, max: 1000 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(0, -0, 1e-310, Number.MAX_VALUE),
    );
    const point = fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: SPAN - 1 }), value);
    // Special samples, often at the ts of a point (which wins over them).
    const special = fc.tuple(
      fc.constantFrom('a', 'b'),
      fc.oneof(
        fc.integer({ min: 0, max: SPAN - 1 }),
        fc.integer({ min: 0, max: SPAN / 60_000 - 1 }).map((m) => m * 60_000),
      ),
      fc.constantFrom<[number, boolean]>([NaN, true], [NaN, false], [Infinity, false], [-Infinity, false]),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            point,
            point.map(([m, offset, v]) => [m, Math.floor(offset / 60_000) * 60_000, v] as const),
          ),
          {
            minLength: 1,
            maxLength: 80,
          },
        ),
        fc.array(point, { maxLength: 20 }),
        fc.array(special, { maxLength: 12 }),
        fc.array(special, { maxLength: 6 }),
        fc.nat({ max: 6 }),
        fc.array(fc.tuple(fc.integer({ min: -HOUR, max: SPAN }), fc.integer({ min: 0, max: 3 * HOUR })), {
          minLength: 1,
          maxLength: 3,
        }),
        fc
          .array(fc.tuple(fc.integer({ min: -HOUR, max: SPAN }), fc.integer({ min: 0, max: 20 * 60_000 })), {
            minLength: 2,
            maxLength: 8,
          })
          .map((spans) => mergeSpans(spans.map(([start, length]) => [base + start, base + start + length]))),
        async (first, late, firstSpecial, lateSpecial, stopAfter, ranges, spans) => {
          const w = world();
          const write = async (points: typeof first): Promise<void> => {
            for (const metricId of ['a', 'b'])
              await w.write(
                metricId,
                points.filter(([m]) => m === metricId).map(([, offset, v]) => [base + offset, v]),
              );
          };
          const writeSpecial = async (samples: typeof firstSpecial): Promise<void> => {
            for (const metricId of ['a', 'b']) {
              const mine = samples.filter(([m]) => m === metricId);
              const byTs = new Map(
                mine.map(([, offset, [value, stale]]) => [base + offset, { ts: base + offset, value, stale }]),
              );
              if (byTs.size > 0) await w.writeSpecial(metricId, [...byTs.values()]);
            }
          };
          const check = async (when: string): Promise<void> => {
            for (const [start, length] of ranges) {
              const [from, to] = [base + start, base + start + length];
              for (const metricId of ['a', 'b'])
                for (const aggregation of ['sum', 'count', 'last'] as const) {
                  const q = query(metricId, from, to, aggregation);
                  expect(await w.search.search(q, UNBOUNDED), `${when}: Meetr ${JSON.stringify(q)}`).toEqual(
                    w.expectedSearch(q),
                  );
                }
              // Also with decoded chunks kept from earlier reads: an hour resealed since is decoded again.
              for (const search of [w.search, w.cachedSearch])
                expect(
                  await seriesRead(w, ['a', 'b'], from, to, search),
                  `${when}: [${start}, ${start + length}]`,
                ).toEqual([w.expectedSeries('a', from, to), w.expectedSeries('b', from, to)]);
            }
            for (const search of [w.search, w.cachedSearch])
              expect(await spansRead(w, ['a', 'b'], spans, search), `${when}: ${JSON.stringify(spans)}`).toEqual([
                w.expectedWithin('a', spans),
                w.expectedWithin('b', spans),
              ]);
          };
          await write(first);
          await writeSpecial(firstSpecial);
          await check('written');
          await w.roll();
          await check('rolled, the last hour open');
          await write(late);
          await writeSpecial(lateSpecial);
          await w.roll(stopAfter);
          await check('written again, the roller stopped half-way');
          w.clock.now += HOUR + SEAL_AFTER_MS;
          await w.roll();
          await check('every hour over and sealed');
          w.store.expireRaw();
          await check('raw rows expired: from the chunks alone');
          await write(late.map(([m, offset, v]) => [m, offset, v + 1]));
          await writeSpecial(lateSpecial.map(([m, offset]) => [m, offset, [Infinity, false]] as const));
          await check('upserts not rolled');
          await w.roll();
          await check('upserts resealed');
          w.store.expireRaw();
          await check('upserts resealed, raw rows expired again');
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);

  it('are read from the chunk once an hour is sealed, and from the raw points of the minutes written since', async () => {
    const w = world();
    const hour = base + HOUR;
    const points: Array<[number, number]> = Array.from({ length: 240 }, (_, i) => [hour + i * 15_000, i]);
    await w.write('a', points);
    await w.roll();
    const before = w.store.calls.scanPoints;
    expect(await samplesOf(w, ['a'], hour, hour + HOUR - 1)).toEqual([w.expected('a', hour, hour + HOUR - 1)]);
    expect(w.store.calls.scanPoints - before).toBe(0);
    const [chunk] = await w.store.readChunks(['a'], chunkPeriod(hour / HOUR), 0, 2 ** 31 - 1);
    expect(chunk?.hour).toBe(hour / HOUR);
    expect(Array.from(decodeChunk(chunk!.bytes).values)).toEqual(points.map(([, v]) => v));

    await w.write('a', [[hour + 61_000, -5]]);
    const late = w.store.calls.scanPoints;
    expect(await samplesOf(w, ['a'], hour, hour + HOUR - 1)).toEqual([w.expected('a', hour, hour + HOUR - 1)]);
    expect(w.store.calls.scanPoints - late).toBe(1); // the one minute written since
  });

  it('seal an hour from the raw points rolling read, reading only the rest of the hour again', async () => {
    const w = world();
    const hour = base + HOUR;
    const whole: Array<[number, number]> = Array.from({ length: 240 }, (_, i) => [hour + i * 15_000, i]);
    await w.write('a', whole);
    const before = w.store.calls.scanPoints;
    await w.roll();
    expect(w.store.calls.scanPoints - before, 'one scan of the four quarters, none to seal').toBe(1);

    // Two quarters of the next hour written: sealing scans the other two, and the chunk holds all four.
    const next = hour + HOUR;
    const early: Array<[number, number]> = [
      [next + 16 * 60_000, 1],
      [next + 50 * 60_000, 2],
    ];
    // Written straight to the raw table: they stand for quarters rolled while the hour was open, so not sealed.
    await w.store.writePartition(
      'a',
      next / HOUR,
      early.map(([ts, value]) => ({ metricId: 'a', ts, value, writeTimeUs: 1 })),
    );
    for (const [ts, value] of early) w.raw.get('a')!.set(ts, value);
    const queued: Array<[number, number]> = [
      [next + 1_000, 3],
      [next + 31 * 60_000, 4],
    ];
    // With a late point into the first hour, sealed already: two hours to seal in the day.
    await w.write('a', [...queued, [hour + 7 * 60_000 + 500, 9]]);
    const [scans, specials] = [w.store.calls.scanPoints, w.store.calls.specialSamples];
    await w.roll();
    expect(
      w.store.calls.scanPoints - scans,
      "the first hour's late minute; quarters 0 and 2 to roll, 1 and 3 to seal",
    ).toBe(5);
    expect(w.store.calls.specialSamples - specials, "one read of the day's special samples for both hours").toBe(1);
    const chunk = (await w.store.readChunks(['a'], chunkPeriod(next / HOUR), 0, 2 ** 31 - 1)).find(
      ({ hour: h }) => h === next / HOUR,
    );
    expect(Array.from(decodeChunk(chunk!.bytes).values)).toEqual([3, 1, 4, 2]);
    expect(await samplesOf(w, ['a'], hour, next + HOUR - 1)).toEqual([w.expected('a', hour, next + HOUR - 1)]);
  });

  it('reseal an hour exactly when one roll recomputes a dense quarter and a later sparse one of it', async () => {
    const w = world();
    const hour = base + HOUR;
    // The first quarter dense (a point a second, minute rows of its own), the third sparse.
    const dense: Array<[number, number]> = Array.from({ length: 900 }, (_, i) => [hour + i * 1_000, i % 13]);
    await w.write('a', [...dense, [hour + 31 * 60_000, 7]]);
    await w.roll();
    // One late request into both: the sparse quarter is read before the dense one.
    await w.write('a', [
      [hour + 5 * 60_000 + 500, 100],
      [hour + 32 * 60_000, 8],
    ]);
    await w.roll();
    w.store.expireRaw();
    const q = query('a', hour, hour + HOUR - 1, 'count');
    expect(await w.search.search(q, UNBOUNDED)).toEqual(w.expectedSearch(q));
    expect(await seriesRead(w, ['a'], hour, hour + HOUR - 1)).toEqual([w.expectedSeries('a', hour, hour + HOUR - 1)]);
  });

  it('count only hours without a chunk against MEETR_MAX_SEARCH_PARTITIONS, and refuse a range of too many hours before reading any', async () => {
    const w = world();
    const limited = searchService(w.store, { clock: () => w.clock.now, maxPartitions: 2 });
    const read = (fromMs: number, toMs: number) =>
      limited.samples([{ metricId: 'a', fromMs, toMs }], 1_000_000, UNBOUNDED);
    await w.write(
      'a',
      Array.from({ length: 6 }, (_, hour): [number, number] => [base + hour * HOUR + 1_000, hour]),
    );
    const tooLarge = { code: 'query_too_large', message: expect.stringMatching(/more than 2 \(series, hour\)/) };
    // Six raw hours, more than two.
    await expect(read(base, base + SPAN - 1)).rejects.toMatchObject(tooLarge);
    await w.roll();
    // Five sealed, the last still open: one raw hour.
    const [answer] = await read(base, base + SPAN - 1);
    expect({ ts: Array.from(answer!.ts), values: Array.from(answer!.values) }).toEqual(
      w.expected('a', base, base + SPAN - 1),
    );
    // Two hours past the data have no chunk: three raw hours.
    await expect(read(base, base + SPAN + 2 * HOUR - 1)).rejects.toMatchObject(tooLarge);
    // Past 50 hours a raw partition (100 here), refused before any read.
    const [scans, chunks] = [w.store.calls.scanPoints, w.store.calls.readChunks];
    await expect(read(base - 95 * HOUR, base + SPAN - 1)).rejects.toMatchObject({
      code: 'query_too_large',
      message: expect.stringMatching(/more than 100 \(series, hour\) partitions, 50 times MEETR_MAX_SEARCH_PARTITIONS/),
    });
    expect([w.store.calls.scanPoints, w.store.calls.readChunks]).toEqual([scans, chunks]);
  });

  it('refuse with 503, never answer without them, when a chunk cannot be read (a newer format, or damaged)', async () => {
    const w = world();
    const hour = base + HOUR;
    await w.write('a', [[hour + 1_000, 1]]);
    await w.roll();
    await w.store.writeChunks('a', [{ hour: hour / HOUR, bytes: Uint8Array.of(9, 1, 0) }], Number.MAX_SAFE_INTEGER);
    const failure = /the sealed chunk of "a" for hour \d+ cannot be read: unknown chunk format version 9/;
    await expect(samplesOf(w, ['a'], hour, hour + HOUR - 1)).rejects.toThrow(failure);
    await expect(samplesOf(w, ['a'], hour, hour + HOUR - 1)).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(w.search.search(query('a', hour, hour + 1_500, 'sum'), UNBOUNDED)).rejects.toThrow(failure);
  });

  it('leave an hour rolled while open unsealed, and seal it once it is over though nothing more is written', async () => {
    const w = world();
    const open = Math.floor(w.clock.now / HOUR) * HOUR;
    await w.write('a', [[open + 1_000, 1]]);
    await w.roll();
    expect(w.store.calls.writeChunk).toBe(0);
    w.clock.now = open + HOUR + SEAL_AFTER_MS;
    await w.roll();
    expect(w.store.calls.writeChunk).toBe(1);
    const before = w.store.calls.scanPoints;
    expect(await samplesOf(w, ['a'], open, open + HOUR - 1)).toEqual([w.expected('a', open, open + HOUR - 1)]);
    expect(w.store.calls.scanPoints - before).toBe(0);
  });
});

describe('raw rows, a write-ahead layer for the chunks', () => {
  const DAY = 86_400_000;
  const now = Date.parse('2026-06-01T12:30:00Z');
  const keep3d = { raw: undefined, levels: NO_RETENTION.levels, rawKeep: 3 * DAY };

  it('expire MEETR_RAW_KEEP after they are written, or after their hour ends when it has not yet', () => {
    expect(rawTtlSeconds(keep3d, now - DAY, now)).toBe(3 * 86_400);
    // Its hour ends at 13:00: the roller cannot seal it before.
    expect(rawTtlSeconds(keep3d, now + 1, now)).toBe(1_800 + 3 * 86_400);
    // A year ahead: kept until a year from now, plus three days.
    expect(rawTtlSeconds(keep3d, now + 365 * DAY, now)).toBe(365 * 86_400 + 1_800 + 3 * 86_400);
    // Past Cassandra's largest TTL (20 years): kept with no TTL, as raw retention says.
    expect(rawTtlSeconds(keep3d, now + 30 * 365 * DAY, now)).toBe(0);
  });

  it('expire sooner when raw retention ends first, and as retention says when kept forever', () => {
    expect(rawTtlSeconds({ ...keep3d, raw: 2 * DAY }, now - DAY, now)).toBe(86_400);
    expect(rawTtlSeconds({ ...keep3d, raw: 30 * DAY }, now - DAY, now)).toBe(3 * 86_400);
    expect(rawTtlSeconds({ ...keep3d, rawKeep: undefined, raw: 30 * DAY }, now - DAY, now)).toBe(29 * 86_400);
    expect(rawTtlSeconds(NO_RETENTION, now - DAY, now)).toBe(0);
  });
});

describe('reads of chunks for many series', () => {
  it('name series with the same hours together, up to 16 a statement and one page of chunks, and scattered hours apart', async () => {
    const reads: Array<{ series: number; hours: number }> = [];
    const reader = {
      readChunks: async (metricIds: readonly string[], _period: number, from: number, to: number) => {
        reads.push({ series: metricIds.length, hours: to - from });
        return [];
      },
      readChunksAt: async (_metricId: string, _period: number, hours: readonly number[]) => {
        reads.push({ series: 1, hours: hours.length });
        return [];
      },
    } as unknown as RangeReader;
    const hours = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i);
    const series = (count: number, of: number[]) =>
      Array.from({ length: count }, (_, i) => ({ metricId: `s${i}`, hours: of }));
    const start = 10 * HOURS_PER_CHUNK_PERIOD;
    await chunksOfSeries(reader, series(100, hours(start, 24)), 4);
    expect(reads).toEqual([...Array(6).fill({ series: 16, hours: 24 }), { series: 4, hours: 24 }]);
    reads.length = 0;
    // 720 hours a series: 6 series (4,320 chunks) a read, within a page of 5,000 rows.
    await chunksOfSeries(reader, series(20, hours(start, 720)), 4);
    expect(reads).toEqual([...Array(3).fill({ series: 6, hours: 720 }), { series: 2, hours: 720 }]);
    reads.length = 0;
    await chunksOfSeries(reader, [...series(2, [start, start + 2]), ...series(2, hours(start - 1, 2))], 4);
    expect(reads).toEqual([
      { series: 1, hours: 2 },
      { series: 1, hours: 2 },
      { series: 2, hours: 1 }, // start - 1 ends the partition before
      { series: 2, hours: 1 },
    ]);
  });
});
