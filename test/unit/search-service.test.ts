/**
 * Searches and the roller over the in-memory store: answers equal a scan of the
 * raw points before rolling, after it and after late writes; the roller shares
 * shards and survives failures. (Storage itself: test/integration.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { finalize, PointFold, type Aggregation } from '../../src/domain/aggregate.js';
import type { SearchQuery } from '../../src/query/search-service.js';
import { GATHER_SLOTS, REUSE_MS, SHARDS, SLOT_MS } from '../../src/rollup/roll-queue.js';
import { mergeDays, Roller } from '../../src/roller/roller.js';
import { bucketBounds } from '../../src/time/series-buckets.js';
import { parseInterval } from '../../src/time/time-text.js';
import { UNBOUNDED, type WorkScope } from '../../src/work-scope.js';
import { rollingWorld } from '../support/rolling-world.js';
import { query } from '../support/search-query.js';
import { searchService, TEST_CLOCK_MARGIN_MS, TEST_MAX_HOLD_MS } from '../support/services.js';

const DAY = 86_400_000;
const base = Date.parse('2024-03-09T00:00:00Z');

function world() {
  const w = rollingWorld(base + 10 * DAY);
  const { clock, roller, raw } = w;
  return {
    ...w,
    /** Lets every hold given so far end, and rolls everything due. */
    async rollAll() {
      clock.now += TEST_MAX_HOLD_MS + 10_000;
      await roller.balance();
      await roller.rollDue();
    },
    /** What a scan of the raw points answers. */
    expected(q: SearchQuery): {
      value: number | null;
      count: number;
      series?: Array<{ ts: number; value: number | null; count: number }>;
    } {
      const inRange = [...(raw.get(q.metricId) ?? [])]
        .filter(([ts]) => ts >= q.fromMs && ts <= q.toMs)
        .sort(([a], [b]) => a - b);
      const fold = (points: Array<[number, number]>) => {
        const f = new PointFold();
        for (const [ts, value] of points) f.add(ts, value);
        return { value: finalize(f.partial, q.aggregation), count: points.length };
      };
      const total = fold(inRange);
      if (q.buckets === undefined) return total;
      const series = q.buckets
        .slice(0, -1)
        .map((start, i) => ({ ts: start, ...fold(inRange.filter(([ts]) => ts >= start && ts < q.buckets![i + 1]!)) }));
      return { ...total, series };
    },
  };
}

const aggregations: Aggregation[] = ['sum', 'avg', 'min', 'max', 'count', 'first', 'last'];

describe('searches over rollups', () => {
  it('equal a scan of the raw points before rolling, after it, and after late writes and upserts', async () => {
    const point = fc.tuple(
      fc.integer({ min: 0, max: 3 * DAY - 1 }),
      fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(point, { minLength: 1, maxLength: 60 }),
        fc.array(point, { maxLength: 20 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 * DAY }), fc.integer({ min: 0, max: 3 * DAY })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.constantFrom(...aggregations),
        fc.constantFrom('1m', '7m', '15m', '1h', '1d'),
        fc.constantFrom('UTC', 'America/New_York', 'Asia/Kolkata'),
        async (first, late, ranges, aggregation, interval, tz) => {
          const w = world();
          await w.write(
            'm',
            first.map(([offset, value]) => [base + offset, value]),
          );
          const queries: SearchQuery[] = [];
          for (const [a, b] of ranges) {
            const [from, to] = [base + Math.min(a, b), base + Math.max(a, b)];
            queries.push(query('m', from, to, aggregation));
            const buckets = await bucketBounds(parseInterval(interval)!, tz, from, to, 10_000);
            queries.push({ ...query('m', from, to, aggregation), buckets });
          }
          const check = async (when: string): Promise<void> => {
            for (const q of queries)
              expect(
                await w.search.search(q, UNBOUNDED),
                `${when}: ${JSON.stringify({ ...q, buckets: q.buckets?.length })}`,
              ).toEqual(w.expected(q));
          };
          await check('before rolling');
          await w.rollAll();
          await check('rolled');
          await w.write(
            'm',
            late.map(([offset, value]) => [base + offset, value]),
          );
          await check('late writes, not rolled');
          await w.rollAll();
          await check('late writes, rolled');
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);

  it('read points only at the edges once rolled, from the chunks of their sealed hours', async () => {
    const w = world();
    const points: Array<[number, number]> = [];
    for (let ts = base; ts < base + 3 * DAY; ts += 60_000) points.push([ts, (ts / 60_000) % 17]);
    await w.write('m', points);
    await w.rollAll();
    const [scans, chunks] = [w.store.calls.scanPoints, w.store.calls.readChunks];
    const q = query('m', base + 90_000 + 5, base + 2 * DAY + 30_500, 'sum');
    expect(await w.search.search(q, UNBOUNDED)).toEqual(w.expected(q));
    expect(w.store.calls.scanPoints - scans).toBe(0);
    // The two edge hours lie in one chunk partition: one read names both.
    expect(w.store.calls.readChunks - chunks).toBe(1);
  });

  it('read the points of buckets finer than a quarter once per hour, however many buckets it holds', async () => {
    const w = world();
    const points: Array<[number, number]> = [];
    for (let ts = base; ts < base + 3 * 3_600_000; ts += 15_000) points.push([ts, (ts / 15_000) % 13]);
    await w.write('m', points);
    const from = base + 20 * 60_000;
    const q = { ...query('m', from, base + 3 * 3_600_000 - 1, 'avg'), buckets: [] as number[] };
    q.buckets = await bucketBounds(parseInterval('1m')!, 'UTC', q.fromMs, q.toMs, 10_000);
    // Not rolled: every minute is unrolled; the three hours are three reads, and three partitions of the limit.
    let scans = w.store.calls.scanPoints;
    expect(await w.search.search(q, UNBOUNDED)).toEqual(w.expected(q));
    expect(w.store.calls.scanPoints - scans).toBe(3);
    const limited = (maxPartitions: number) => searchService(w.store, { clock: () => w.clock.now, maxPartitions });
    expect(await limited(3).search(q, UNBOUNDED)).toEqual(w.expected(q));
    await expect(limited(2).search(q, UNBOUNDED)).rejects.toMatchObject({ code: 'invalid_request' });
    // Rolled and sealed: the 160 buckets come from the three hours' chunks, one read, and no raw row
    // (asked of a service with no earlier view of the roller's progress, which it would trust a while).
    await w.rollAll();
    scans = w.store.calls.scanPoints;
    const chunks = w.store.calls.readChunks;
    expect(await limited(3).search(q, UNBOUNDED)).toEqual(w.expected(q));
    expect(w.store.calls.scanPoints - scans).toBe(0);
    expect(w.store.calls.readChunks - chunks).toBe(1);
  });

  it('answer buckets finer than a quarter over a dense metric from its minute rows, exactly, also after late writes and upserts', async () => {
    const span = 2 * 3_600_000;
    const late = fc.tuple(fc.integer({ min: 0, max: span / 250 - 1 }), fc.integer({ min: -50, max: 50 }));
    const range = fc.tuple(fc.integer({ min: 0, max: span }), fc.integer({ min: 0, max: span }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(late, { maxLength: 30 }),
        fc.array(range, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('1m', '7m', '15m'),
        async (lateWrites, ranges, interval) => {
          const w = world();
          // Two points a second: every quarter is dense (1,800 points).
          const points: Array<[number, number]> = [];
          for (let ts = base; ts < base + span; ts += 500) points.push([ts, (ts / 500) % 7]);
          await w.write('m', points);
          await w.rollAll();
          const queries: SearchQuery[] = [];
          for (const [a, b] of ranges) {
            const [from, to] = [base + Math.min(a, b), base + Math.max(a, b)];
            const buckets = await bucketBounds(parseInterval(interval)!, 'UTC', from, to, 10_000);
            queries.push({ ...query('m', from, to, 'sum'), buckets }, query('m', from, to, 'avg'));
          }
          const fresh = () => searchService(w.store, { clock: () => w.clock.now });
          const check = async (when: string) => {
            for (const q of queries) expect(await fresh().search(q, UNBOUNDED), when).toEqual(w.expected(q));
          };
          await check('rolled');
          // Late writes, some on a point's own timestamp (upserts): their minutes are read as points until rolled.
          await w.write(
            'm',
            lateWrites.map(([offset, value]) => [base + offset * 250, value]),
          );
          await check('late writes, not rolled');
          await w.rollAll();
          await check('late writes, rolled');
        },
      ),
      { numRuns: 12 },
    );
  }, 60_000);

  it('read a dense metric at 1m from minute rows alone once rolled', async () => {
    const w = world();
    const points: Array<[number, number]> = [];
    for (let ts = base; ts < base + 3_600_000; ts += 1_000) points.push([ts, ts % 3]);
    await w.write('m', points);
    await w.rollAll();
    const q = { ...query('m', base, base + 3_600_000 - 1, 'max'), buckets: [] as number[] };
    q.buckets = await bucketBounds(parseInterval('1m')!, 'UTC', q.fromMs, q.toMs, 10_000);
    const [scans, chunks] = [w.store.calls.scanPoints, w.store.calls.readChunks];
    expect(await searchService(w.store, { clock: () => w.clock.now }).search(q, UNBOUNDED)).toEqual(w.expected(q));
    expect([w.store.calls.scanPoints - scans, w.store.calls.readChunks - chunks]).toEqual([0, 0]);
  });

  it('refuse a search needing more raw partitions than the limit, before reading any', async () => {
    const w = world();
    await w.write('m', [
      [base, 1],
      [base + 2 * DAY, 2],
    ]); // not rolled: every queued minute is read raw
    const limited = searchService(w.store, { clock: () => w.clock.now, maxPartitions: 1 });
    const before = w.store.calls.scanPoints;
    await expect(limited.search(query('m', base, base + 3 * DAY, 'sum'), UNBOUNDED)).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(w.store.calls.scanPoints).toBe(before);
  });

  it("answer a range rolled up since a search refused it, asking the roller's progress again before refusing", async () => {
    const w = world();
    await w.write('m', [
      [base, 1],
      [base + 2 * DAY, 2],
    ]);
    const limited = searchService(w.store, { clock: () => w.clock.now, maxPartitions: 1 });
    const q = query('m', base, base + 3 * DAY, 'sum');
    await expect(limited.search(q, UNBOUNDED)).rejects.toMatchObject({ code: 'invalid_request' }); // remembers the roller's progress then
    await w.rollAll();
    // Within the time the remembered progress is trusted, it would still count both minutes as unrolled.
    expect(await limited.search(q, UNBOUNDED)).toEqual(w.expected(q));
  });

  it('stop at once when their scope ends, and run only so many at a time, shedding the excess', async () => {
    const w = world();
    const service = searchService(w.store, { clock: () => w.clock.now, maxSearches: 1, maxWaitingSearches: 1 });
    const never: WorkScope = { signal: new AbortController().signal, deadlineMs: Infinity };
    const aborted = new AbortController();
    aborted.abort(new Error('gone'));
    await expect(
      service.search(query('m', base, base + DAY, 'sum'), { signal: aborted.signal, deadlineMs: Infinity }),
    ).rejects.toThrow('gone');
    const searches = [0, 1, 2].map(() => service.search(query('m', base, base + DAY, 'sum'), never));
    const settled = await Promise.allSettled(searches);
    expect(settled.filter((s) => s.status === 'rejected').map((s) => s.reason.reason)).toEqual(['searches_waiting']);
  });
});

describe('the roller', () => {
  it('shares the shards evenly with another roller, and takes over the shards of one that stopped', async () => {
    const w = world();
    const other = new Roller({
      store: w.store,
      owner: 'r2',
      concurrency: 4,
      clockMarginMs: TEST_CLOCK_MARGIN_MS,
      clock: () => w.clock.now,
    });
    await w.roller.balance(); // alone: takes every shard
    expect(w.roller.status.shards).toHaveLength(SHARDS);
    await other.balance(); // sees two rollers, but every shard is leased
    await w.roller.balance(); // gives back the half beyond its share, its lease ending now
    await other.balance(); // which the other leaves for the clock margin (their clocks may disagree by as much)
    expect(other.status.shards).toHaveLength(0);
    w.clock.now += TEST_CLOCK_MARGIN_MS;
    await other.balance(); // and then takes
    expect(w.roller.status.shards).toHaveLength(SHARDS / 2);
    expect(other.status.shards).toHaveLength(SHARDS / 2);
    w.clock.now += 60_000; // r1 stopped: its leases and its announcement lapse
    await other.balance();
    expect(other.status.shards).toHaveLength(SHARDS);
  });

  it("rolls a shard's slots in groups of gatherSlots once the last of a group is over, a metric once a group", async () => {
    const runs = [];
    for (const gatherSlots of [1, GATHER_SLOTS]) {
      const w = world();
      const rolled = { days: 0, points: 0 };
      const roller = new Roller({
        store: w.store,
        owner: `gather-${gatherSlots}`,
        concurrency: 4,
        clockMarginMs: TEST_CLOCK_MARGIN_MS,
        clock: () => w.clock.now,
        gatherSlots,
        telemetry: {
          slotsRolled: () => undefined,
          dayRolled: ({ points }) => {
            rolled.days++;
            rolled.points += points;
          },
        },
      });
      // Writes far enough apart that none reuses the hold of the one before (REUSE_MS): a slot each, two or three
      // apart. The roller, kept and rolling every second as the roller process does, until every group is over.
      const writes = 6;
      const apart = Math.ceil((REUSE_MS + 1) / 1_000);
      const until = w.clock.now + writes * apart * 1_000 + TEST_MAX_HOLD_MS + TEST_CLOCK_MARGIN_MS + 3 * SLOT_MS;
      const lags: number[] = [];
      for (let second = 0; w.clock.now < until; second++, w.clock.now += 1_000) {
        const minute = second / apart;
        if (Number.isInteger(minute) && minute < writes) await w.write('m', [[base + minute * 60_000, minute + 0.5]]);
        await roller.balance();
        await roller.rollDue();
        lags.push(roller.status.lagSeconds);
      }
      runs.push({ rolled, lags });
      const q = query('m', base, base + DAY - 1, 'sum');
      expect(await w.search.search(q, UNBOUNDED)).toEqual(w.expected(q));
      expect(w.expected(q).count).toBe(writes);
    }
    const [eager, gathered] = runs;
    // Slot by slot, each roll reads the quarter, and every point written to it so far; a group rolls its slots once.
    expect(eager!.rolled.days).toBe(6);
    expect(gathered!.rolled.days).toBeLessThan(6);
    expect(gathered!.rolled.points).toBeLessThan(eager!.rolled.points);
    expect(Math.max(...eager!.lags)).toBe(0);
    expect(Math.max(...gathered!.lags)).toBeLessThan(((GATHER_SLOTS - 1) * SLOT_MS) / 1000);
  });

  it('merges the queued days of several slots: each (metric, day) once, with the minutes of all', () => {
    const merged = mergeDays([
      [
        { metricId: 'a', day: 1, minutes: [5, 1] },
        { metricId: 'b', day: 1, minutes: [2] },
      ],
      [
        { metricId: 'a', day: 1, minutes: [3, 5] },
        { metricId: 'a', day: 2, minutes: [0] },
      ],
      [],
    ]);
    expect(merged).toEqual([
      { metricId: 'a', day: 1, minutes: [1, 3, 5] },
      { metricId: 'b', day: 1, minutes: [2] },
      { metricId: 'a', day: 2, minutes: [0] },
    ]);
  });

  it('leaves a slot for later when storage fails mid-way, and rolls it exactly once storage is back', async () => {
    const w = world();
    const points: Array<[number, number]> = [
      [base + 5, 1.5],
      [base + 3_600_000, 2.25],
      [base + DAY + 7, -4],
    ];
    await w.write('m', points);
    w.clock.now += TEST_MAX_HOLD_MS + 10_000;
    await w.roller.balance();
    w.store.unavailable = true;
    await expect(w.roller.rollDue()).rejects.toMatchObject({ code: 'storage_unavailable' });
    w.store.unavailable = false;
    expect(w.roller.status.lagSeconds).toBeGreaterThan(0);
    await w.roller.rollDue();
    expect(w.roller.status.lagSeconds).toBe(0);
    const q = query('m', base, base + 2 * DAY - 1, 'sum');
    expect(await w.search.search(q, UNBOUNDED)).toEqual(w.expected(q));
    const before = w.store.calls.scanPoints;
    await w.search.search(q, UNBOUNDED);
    expect(w.store.calls.scanPoints).toBe(before); // whole days, from rollups
  });
});
