/**
 * Clock discipline over the in-memory store, with a clock injected per process: the
 * watch's reading, the worker's and the roller's refusals past the bound, searches
 * equal to a scan of the points with every skew within it, a handover between
 * rollers whose clocks differ, fair rolling, and levels never rebuilt from less
 * than they hold. (Real skewed processes: test/functional/clocks.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { composeApp } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { finalize, PointFold } from '../../src/domain/aggregate.js';
import { clockMarginMs, shardOf, SHARDS, slotOf, SLOT_MS } from '../../src/rollup/roll-queue.js';
import { oldestWritable } from '../../src/rollup/retention.js';
import { Roller } from '../../src/roller/roller.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';
import { createClockWatch } from '../../src/time/clock-watch.js';
import { UNBOUNDED } from '../../src/work-scope.js';
import { query } from '../support/search-query.js';
import { ingestService, insertRequest, searchService } from '../support/services.js';

const DAY = 86_400_000;
const base = Date.parse('2024-03-09T00:00:00Z') + 10 * DAY;
const BOUND_MS = 1_000;
const MARGIN_MS = clockMarginMs(BOUND_MS);
/** compose.ts landingMarginMs with a 1 s storage timeout: two attempts of connect and read timeouts, plus the clock margin. */
const LANDING_MS = 2 * 2 * 1_000 + MARGIN_MS;
const REQUEST_MS = 20_000;
const MAX_HOLD_MS = REQUEST_MS + LANDING_MS + 10_000;

describe('the clock watch', () => {
  const watchAt = (offsetMs: number, roundTripMs = 2) => {
    const local = { now: base, mono: 0 };
    const watch = createClockWatch({
      maxSkewMs: BOUND_MS,
      clock: () => local.now,
      monotonic: () => local.mono,
      serverTimeMs: async () => {
        local.mono += roundTripMs;
        local.now += roundTripMs;
        return local.now - roundTripMs / 2 + offsetMs;
      },
    });
    return { watch, local };
  };

  it('refuses before its first comparison, then reads the offset from the sample', async () => {
    const { watch } = watchAt(-300);
    expect(() => watch.ensureWithinBound()).toThrow(/not compared/);
    await watch.check();
    expect(watch.reading()).toMatchObject({ offsetMs: -300, uncertaintyMs: 1, refusal: undefined });
    expect(() => watch.ensureWithinBound()).not.toThrow();
  });

  it('refuses past the bound with a 503 that names the skew and the setting', async () => {
    const { watch } = watchAt(-120_000);
    await watch.check();
    expect(() => watch.ensureWithinBound()).toThrow(
      expect.objectContaining({
        code: 'clock_skew',
        status: 503,
        message: expect.stringMatching(/120\.0 s ahead of Cassandra's .*MEETR_MAX_CLOCK_SKEW_MS \(1000 ms\)/),
      }),
    );
    const behind = watchAt(5_000);
    await behind.watch.check();
    expect(behind.watch.reading().refusal).toMatch(/5000 ms behind Cassandra's/);
  });

  it('refuses what it cannot prove: an offset within the bound whose round trip leaves it unsure', async () => {
    const { watch } = watchAt(900, 400);
    await watch.check();
    expect(watch.reading()).toMatchObject({ offsetMs: 900, uncertaintyMs: 200 });
    expect(watch.reading().refusal).toMatch(/900 ms behind/);
  });

  it('keeps the sample with the shortest round trip, and turns stale without samples', async () => {
    const local = { now: base, mono: 0 };
    const trips = [300, 4, 300];
    const watch = createClockWatch({
      maxSkewMs: BOUND_MS,
      intervalMs: 1_000,
      clock: () => local.now,
      monotonic: () => local.mono,
      serverTimeMs: async () => {
        const trip = trips.shift();
        if (trip === undefined) throw new Error('Cassandra is away');
        local.mono += trip;
        local.now += trip;
        return local.now - trip / 2 + 50;
      },
    });
    for (let i = 0; i < 4; i++) await watch.check();
    expect(watch.reading()).toMatchObject({ offsetMs: 50, uncertaintyMs: 2, refusal: undefined });
    local.now += 60_000;
    expect(watch.reading().refusal).toMatch(/last compared with Cassandra's 60 s ago/);
  });
  it('forgets the samples from before a clock step at once, however short their round trips', async () => {
    const local = { now: base, mono: 0, offset: 10 };
    const watch = createClockWatch({
      maxSkewMs: BOUND_MS,
      clock: () => local.now,
      monotonic: () => local.mono,
      serverTimeMs: async () => {
        const trip = local.offset === 10 ? 2 : 40;
        local.mono += trip;
        local.now += trip;
        return local.now - trip / 2 + local.offset;
      },
    });
    for (let i = 0; i < 3; i++) await watch.check();
    local.offset = -120_000; // the clock jumped two minutes ahead
    await watch.check();
    expect(watch.reading()).toMatchObject({ offsetMs: -120_000, uncertaintyMs: 20 });
    expect(watch.reading().refusal).toMatch(/ahead of Cassandra's/);
  });
});

describe('a worker whose clock is past the bound', () => {
  it('answers 503 clock_skew to writes and searches, and fails /health so HAProxy sends its requests elsewhere', async () => {
    const store = new InMemoryPointStore();
    const watch = createClockWatch({ serverTimeMs: async () => Date.now() + 120_000, maxSkewMs: BOUND_MS });
    await watch.check();
    const app = composeApp({
      config: loadConfig({}),
      storage: store.asStorage(),
      workerId: 'skewed',
      clockWatch: watch,
    });
    const write = await app.request('/1.0/metrics', {
      method: 'POST',
      body: new URLSearchParams({ metric_id: 'm', ts: String(Date.now()), value: '1' }),
    });
    expect(write.status).toBe(503);
    expect(await write.json()).toMatchObject({
      error: 'clock_skew',
      message: expect.stringMatching(/behind Cassandra's/),
    });
    expect((await app.request(`/1.0/metrics?metric=m&from=0&to=${Date.now()}&aggregation=sum`)).status).toBe(503);
    const health = await app.request('/health');
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      error: 'clock_skew',
      clock: { offsetMs: expect.any(Number), maxSkewMs: BOUND_MS, withinBound: false },
    });
    expect(store.calls.writePartition + store.calls.markDirty).toBe(0);
    const metrics = await app.telemetry.registry.metrics();
    expect(metrics).toMatch(/meetr_clock_within_bound\{[^}]*\} 0/);
    expect(metrics).toMatch(/meetr_clock_skew_refusals_total\{[^}]*route="\/1.0\/metrics"[^}]*\} 2/);
  });

  it('shows its offset on /health and /metrics while within it', async () => {
    const watch = createClockWatch({ serverTimeMs: async () => Date.now() - 20, maxSkewMs: BOUND_MS });
    await watch.check();
    const app = composeApp({
      config: loadConfig({}),
      storage: new InMemoryPointStore().asStorage(),
      workerId: 'fine',
      clockWatch: watch,
    });
    const health = await app.request('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', clock: { withinBound: true, maxSkewMs: BOUND_MS } });
    expect(await app.telemetry.registry.metrics()).toMatch(/meetr_clock_offset_seconds\{[^}]*\} -0\.0[0-9]/);
  });
});

/** A stack of processes over one store, each on its own clock: true time plus its skew. */
function skewedWorld(skews: { worker: number; roller: number; searcher: number }, firstSlot = slotOf(base)) {
  const time = { now: base };
  const store = new InMemoryPointStore(firstSlot, () => time.now);
  const on = (skew: number) => () => time.now + skew;
  const ingest = ingestService(store, { clock: on(skews.worker), landingMarginMs: LANDING_MS });
  const search = searchService(store, { clock: on(skews.searcher), maxHoldMs: MAX_HOLD_MS, clockMarginMs: MARGIN_MS });
  const roller = new Roller({ store, owner: 'r', concurrency: 4, clockMarginMs: MARGIN_MS, clock: on(skews.roller) });
  const raw = new Map<number, number>();
  return {
    time,
    store,
    search,
    roller,
    async write(ts: number, value: number) {
      await ingest.ingest(
        [{ metricId: 'm', ts, value }],
        insertRequest({ receivedMs: time.now + skews.worker, timeoutMs: REQUEST_MS }),
      );
      raw.set(ts, value);
    },
    async sum(fromMs: number, toMs: number) {
      const answer = await search.search(query('m', fromMs, toMs, 'sum'), UNBOUNDED);
      const fold = new PointFold();
      for (const [ts, value] of [...raw].sort(([a], [b]) => a - b)) if (ts >= fromMs && ts <= toMs) fold.add(ts, value);
      return { answer, scan: { value: finalize(fold.partial, 'sum'), count: fold.partial.count } };
    },
  };
}

describe('searches with every clock within the bound', () => {
  it('equal a scan of the points, whatever each process reads on its clock and however writes and rolls interleave', async () => {
    const skew = fc.integer({ min: -BOUND_MS, max: BOUND_MS });
    await fc.assert(
      fc.asyncProperty(
        fc.record({ worker: skew, roller: skew, searcher: skew }),
        fc.array(
          fc.record({
            advanceMs: fc.integer({ min: 0, max: 20_000 }),
            ageMs: fc.integer({ min: -5_000, max: 180_000 }),
            value: fc.integer({ min: -1_000, max: 1_000 }),
            roll: fc.boolean(),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        async (skews, steps) => {
          const w = skewedWorld(skews);
          await w.roller.balance();
          for (const { advanceMs, ageMs, value, roll } of steps) {
            w.time.now += advanceMs;
            await w.write(w.time.now - ageMs, value);
            if (roll) {
              await w.roller.balance();
              await w.roller.rollDue();
            }
            const { answer, scan } = await w.sum(base - DAY, w.time.now + DAY);
            expect(answer).toEqual(scan);
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});

describe('a roller whose clock is past the bound', () => {
  it('rolls nothing and holds no lease, so searches stay exact (from the points) until its clock is back', async () => {
    const w = skewedWorld({ worker: 0, roller: 120_000, searcher: 0 });
    const refusal = { text: 'clock 120 s ahead' as string | undefined };
    const roller = new Roller({
      store: w.store,
      owner: 'ahead',
      concurrency: 4,
      clockMarginMs: MARGIN_MS,
      clock: () => w.time.now + 120_000,
      refusal: () => refusal.text,
    });
    await roller.balance();
    expect(roller.status.shards).toEqual([]);
    for (let i = 0; i < 60; i++) {
      w.time.now += 5_000;
      await w.write(w.time.now - 1_000, i + 1);
      await roller.balance();
      expect(await roller.rollDue()).toBe(0);
    }
    const { answer, scan } = await w.sum(base - DAY, w.time.now + DAY);
    expect(scan).toEqual({ value: (60 * 61) / 2, count: 60 });
    expect(answer).toEqual(scan);
    expect((await w.store.readShard(shardOf('m'))).nextSlot).toBe(slotOf(base)); // nothing rolled ahead of the writes
    refusal.text = undefined; // its clock is fixed
    const fixed = new Roller({
      store: w.store,
      owner: 'fixed',
      concurrency: 4,
      clockMarginMs: MARGIN_MS,
      clock: () => w.time.now,
    });
    w.time.now += MAX_HOLD_MS + MARGIN_MS;
    await fixed.balance();
    await fixed.rollDue();
    expect(fixed.status.lagSeconds).toBe(0);
    expect((await w.sum(base - DAY, w.time.now + DAY)).answer).toEqual(scan);
  });

  it('without the watch, rolls slots workers still queue into: the failure the bound prevents', async () => {
    const w = skewedWorld({ worker: 0, roller: 120_000, searcher: 0 });
    await w.roller.balance();
    for (let i = 0; i < 10; i++) {
      w.time.now += 5_000;
      await w.write(w.time.now - 1_000, 1);
      await w.roller.rollDue();
    }
    const { answer, scan } = await w.sum(base - DAY, w.time.now + DAY);
    expect(answer).not.toEqual(scan);
  });
});

describe('a shard handed over between rollers whose clocks are 5 s apart', () => {
  it('keeps the later computation: a point that landed after the first roller rolled its minute is in the rollup the second one writes', async () => {
    const bound = 6_000;
    const margin = clockMarginMs(bound);
    const w = skewedWorld({ worker: 0, roller: 0, searcher: 0 });
    const fast = new Roller({
      store: w.store,
      owner: 'fast',
      concurrency: 4,
      clockMarginMs: margin,
      clock: () => w.time.now + 5_000,
      leaseMs: 15_000,
    });
    const slow = new Roller({
      store: w.store,
      owner: 'slow',
      concurrency: 4,
      clockMarginMs: margin,
      clock: () => w.time.now,
      leaseMs: 15_000,
    });
    const minute = base + 7 * 60_000;
    const shard = shardOf('m');
    const day = Math.floor(minute / DAY);
    const minuteOfDay = (minute - day * DAY) / 60_000;
    // A first point, queued in slot s1; a worker then queues the same minute in s2 for a second point it has not written yet.
    const s1 = slotOf(minute + 30_000);
    const s2 = s1 + 1;
    await w.store.markDirty(shard, s1, [{ metricId: 'm', day, minutes: [minuteOfDay] }]);
    await w.store.writePartition('m', Math.floor(minute / 3_600_000), [
      { metricId: 'm', ts: minute + 1_000, value: 5, writeTimeUs: minute * 1000 },
    ]);
    await w.store.markDirty(shard, s2, [{ metricId: 'm', day, minutes: [minuteOfDay] }]);
    // The fast roller rolls s1 as soon as its clock allows, s2 not being over yet.
    w.time.now = (s1 + 1) * SLOT_MS + margin - 5_000;
    await fast.balance();
    expect(await fast.rollDue()).toBeGreaterThan(0);
    expect((await w.store.readShard(shard)).nextSlot).toBe(s2);
    // The second point lands now, within its hold (s2), after the fast roller read the minute.
    await w.store.writePartition('m', Math.floor(minute / 3_600_000), [
      { metricId: 'm', ts: minute + 2_000, value: 7, writeTimeUs: w.time.now * 1000 },
    ]);
    await fast.releaseAll(); // a reload hands the shards to the next roller
    // The slow roller takes the shard as soon as it may, and rolls s2 as soon as its clock says it is over.
    for (let turns = 0; (await w.store.readShard(shard)).nextSlot <= s2; turns++) {
      expect(turns).toBeLessThan(400); // 100 s of its clock at most
      await slow.balance();
      await slow.rollDue();
      w.time.now += 250;
    }
    // The minute's quarter, searched whole.
    const quarter = Math.floor(minute / 900_000) * 900_000;
    const sum = await w.search.search(query('m', quarter, quarter + 899_999, 'sum'), UNBOUNDED);
    expect(sum).toEqual({ value: 12, count: 2 });
    // Both slots that queued the minute are rolled: the answer comes from the rollup alone.
    const before = w.store.calls.scanPoints;
    expect(await w.search.search(query('m', quarter, quarter + 899_999, 'sum'), UNBOUNDED)).toEqual({
      value: 12,
      count: 2,
    });
    expect(w.store.calls.scanPoints).toBe(before);
  });
});

describe('rolling', () => {
  it('takes shards in turn: a backlog in one does not hold the others back', async () => {
    const time = { now: base };
    const store = new InMemoryPointStore(slotOf(base), () => time.now);
    const roller = new Roller({
      store,
      owner: 'r',
      concurrency: 4,
      clockMarginMs: MARGIN_MS,
      clock: () => time.now,
      slotsPerTurn: 2,
    });
    await roller.balance();
    time.now += 10 * 60_000; // ten minutes of slots due in every shard
    let passes = 0;
    // Each pass is cut short, as the roller's loop cuts it every few seconds to balance.
    for (let rolled = 0; rolled < 4 * SHARDS; passes++)
      rolled += await roller.rollDue(
        (
          (budget) => () =>
            budget-- <= 0
        )(SHARDS),
      );
    const behind = [...roller.status.shardLags.values()];
    expect(behind).toHaveLength(SHARDS);
    // Every shard moved forward alike: none was left at the start while another caught up.
    expect(Math.max(...behind) - Math.min(...behind)).toBeLessThanOrEqual((2 * SLOT_MS) / 1000);
    expect(passes).toBeGreaterThan(1);
  });

  it('hands every shard to the roller left at its next balance when the other stops, not once its announcement runs out', async () => {
    const time = { now: base };
    const store = new InMemoryPointStore(slotOf(base), () => time.now);
    const make = (owner: string): Roller =>
      new Roller({ store, owner, concurrency: 4, clockMarginMs: MARGIN_MS, clock: () => time.now });
    const [a, b] = [make('a'), make('b')];
    await a.balance();
    await b.balance();
    time.now += 5_000;
    await a.balance(); // gives back what is beyond its share, which b takes once the margin has passed
    time.now += MARGIN_MS;
    await b.balance();
    expect([a.shards.size, b.shards.size]).toEqual([SHARDS / 2, SHARDS / 2]);
    await b.releaseAll();
    time.now += MARGIN_MS;
    await a.balance();
    expect(a.shards.size).toBe(SHARDS);
  });
});

describe('the oldest point a write may carry', () => {
  it('leaves no bucket to be rebuilt from a level that lost part of it: RAW=15M=1H=7d with 1D kept forever', () => {
    const week = 7 * DAY;
    const retention = { raw: week, levels: { '15m': week, '1h': week, '1d': undefined } };
    const now = Date.parse('2026-12-03T12:00:00Z');
    const floor = oldestWritable(retention, now)!;
    // now-7d+2h is 2026-11-26T14:00Z: its day began at midnight, before the oldest hour kept.
    expect(now - week + 2 * 3_600_000).toBeLessThan(floor.ms);
    expect(floor.ms).toBe(Date.parse('2026-11-27T00:00:00Z'));
    expect(floor.reason).toMatch(/1d rollup bucket .* 1h rollups .*MEETR_RETENTION_1H/);
  });

  it('is the first quarter after the raw retention less an hour when every level is kept at least as long as raw and forever above', () => {
    const now = Date.parse('2026-12-03T12:34:00Z');
    const floor = oldestWritable(
      { raw: 30 * DAY, levels: { '15m': undefined, '1h': undefined, '1d': undefined } },
      now,
    )!;
    // now - 30d + 1h is 13:34: the first quarter that starts after it, 13:45.
    expect(floor.ms).toBe(Date.parse('2026-11-03T13:45:00Z'));
    expect(floor.reason).toMatch(/MEETR_RETENTION_RAW/);
  });

  it('is refused at the edge with a 400 naming the level', async () => {
    const env = {
      MEETR_RETENTION_RAW: '7d',
      MEETR_RETENTION_15M: '7d',
      MEETR_RETENTION_1H: '7d',
    };
    const app = composeApp({
      config: loadConfig(env),
      storage: new InMemoryPointStore().asStorage(),
      workerId: 'retained',
    });
    // The clock is set to noon: at 22:00 or later, now-7d+2h would fall in a day that starts after the oldest hour kept.
    const now = Date.parse('2026-12-03T12:00:00Z');
    vi.useFakeTimers({ toFake: ['Date'], now });
    let answer: Response;
    try {
      answer = await app.request('/1.0/metrics', {
        method: 'POST',
        body: new URLSearchParams({ metric_id: 'm', ts: String(now - 7 * DAY + 2 * 3_600_000), value: '1' }),
      });
    } finally {
      vi.useRealTimers();
    }
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({
      details: [{ field: 'ts', message: expect.stringMatching(/1d rollup bucket .*MEETR_RETENTION_1H/) }],
    });
  });
});
