/**
 * Whatever fails or dies at any step of an insert or of the roller, searches answer
 * what a scan of the raw points answers: while the write is in doubt, and once
 * every hold is over and the roller has rolled what was queued.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxHoldMs } from '../../src/write-holds.js';
import type { Point } from '../../src/domain/point.js';
import { clockMarginMs, lastPossibleSlot, SHARDS } from '../../src/rollup/roll-queue.js';
import { Roller } from '../../src/roller/roller.js';
import { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import type { PointWriter, RollupStore } from '../../src/storage/ports.js';
import { UNBOUNDED } from '../../src/work-scope.js';
import { useFreshKeyspace } from '../support/keyspace.js';
import { query } from '../support/search-query.js';
import { ingestService, insertRequest, searchService, TEST_CLOCK_MARGIN_MS } from '../support/services.js';
import { samplePartition } from '../../src/domain/partitions.js';

const TIMEOUT_MS = 1_000;
const ks = useFreshKeyspace({ MEETR_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS), MEETR_STORAGE_TIMEOUT_MS: '500' });
const LANDING_MS = 500 + 1_000;
const day = Date.UTC(2021, 0, 10);

type Step = 'markDirty' | 'writePartition';
/** fail: Cassandra refuses it. landed-then-fail: it is applied but the driver reports a timeout. die: applied, then the worker is gone (nothing after it runs). */
type Fault = 'fail' | 'landed-then-fail' | 'die';

/** `store`, except that `step` meets `fault` the first time it is called. */
function faulty(store: CassandraPointStore, step: Step, fault: Fault): PointWriter {
  let struck = false;
  const strike = async <T>(name: Step, call: () => Promise<T>): Promise<T> => {
    if (name !== step || struck) return call();
    struck = true;
    if (fault === 'fail') throw new Error(`${name} refused`);
    await call();
    if (fault === 'landed-then-fail') throw new Error(`${name} timed out (but was applied)`);
    return new Promise<T>(() => undefined); // the worker died: no answer, nothing more
  };
  return {
    markDirty: (shard, slot, days) => strike('markDirty', () => store.markDirty(shard, slot, days)),
    recordSeries: (shard, entries) => store.recordSeries(shard, entries),
    writeSpecialSamples: (metricId, day, samples, writeTimeUs) =>
      store.writeSpecialSamples(metricId, day, samples, writeTimeUs),
    writePartition: (metricId, partition, points) =>
      strike('writePartition', () => store.writePartition(metricId, partition, points)),
    writePartitions: (shares) => strike('writePartition', () => store.writePartitions(shares)),
  };
}

let store: CassandraPointStore;
let rolling: { stop: boolean; done: Promise<void> };
beforeAll(() => {
  store = new CassandraPointStore(ks.client, ks.keyspace);
  const roller = new Roller({ store, owner: 'failures', concurrency: 4, clockMarginMs: TEST_CLOCK_MARGIN_MS });
  rolling = { stop: false, done: Promise.resolve() };
  rolling.done = (async () => {
    while (!rolling.stop) {
      await roller.balance().catch(() => undefined);
      const rolled = await roller.rollDue(() => rolling.stop).catch(() => 0);
      if (rolled === 0) await sleep(200);
    }
  })();
});
afterAll(async () => {
  rolling.stop = true;
  await rolling.done;
});

async function rolledUp(
  target = lastPossibleSlot(Date.now(), maxHoldMs(ks.config), clockMarginMs(ks.config.maxClockSkewMs)),
): Promise<void> {
  for (;;) {
    const states = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => store.readShard(shard)));
    if (states.every((state) => state.nextSlot > target)) return;
    await sleep(250);
  }
}

/** count and sum of the metric's raw points in [day - 1 day, day + 2 days), read straight from samples. */
async function rawAnswer(metricId: string): Promise<{ count: number; value: number | null }> {
  let [count, sum] = [0, 0];
  for (
    let partition = samplePartition(day - 86_400_000);
    partition < samplePartition(day + 2 * 86_400_000);
    partition++
  ) {
    count += await store.scanPoints(
      metricId,
      partition,
      partition * 3_600_000,
      (partition + 1) * 3_600_000,
      (_, value) => (sum += value),
    );
  }
  return { count, value: count === 0 ? null : sum };
}

describe('rollups under failure', () => {
  const cases: Array<[Step, Fault]> = [];
  for (const step of ['markDirty', 'writePartition'] as const)
    for (const fault of ['fail', 'landed-then-fail', 'die'] as const) cases.push([step, fault]);

  it.concurrent.each(cases)(
    'a late write whose %s meets "%s" never leaves rollups that disagree with the points',
    async (step, fault) => {
      const metricId = `inject.${step}.${fault}`;
      const whole = query(metricId, day - 86_400_000, day + 2 * 86_400_000 - 1, 'sum');
      const search = searchService(store, { maxHoldMs: maxHoldMs(ks.config) });

      // The day has points, rolled up.
      const seed: Point[] = [1, 2, 3].map((i) => ({ metricId, ts: day + i * 1000, value: i }));
      await ingestService(store, { landingMarginMs: LANDING_MS }).ingest(
        seed,
        insertRequest({ timeoutMs: TIMEOUT_MS }),
      );
      await rolledUp();
      expect(await search.search(whole, UNBOUNDED)).toEqual({ count: 3, value: 6 });

      // The late write meets its fault; searches run beside it.
      const ingest = ingestService(faulty(store, step, fault), { landingMarginMs: LANDING_MS });
      const controller = new AbortController();
      const deadline = setTimeout(() => controller.abort(new Error('deadline')), TIMEOUT_MS);
      const writing = ingest
        .ingest(
          [{ metricId, ts: day + 5000, value: 5 }],
          insertRequest({ timeoutMs: TIMEOUT_MS, signal: controller.signal }),
        )
        .then(
          () => 'acknowledged',
          () => 'failed',
        );
      const beside: Array<Promise<unknown>> = [];
      for (let i = 0; i < 6; i++) {
        beside.push(search.search(whole, UNBOUNDED));
        await sleep(100);
      }
      const outcome = await writing;
      clearTimeout(deadline);
      await Promise.all(beside);
      if (outcome === 'acknowledged') expect((await rawAnswer(metricId)).count).toBe(4);

      // Now, and once every hold is over and the roller has rolled, searches agree with the points.
      expect(await search.search(whole, UNBOUNDED)).toEqual(await rawAnswer(metricId));
      await sleep(TIMEOUT_MS + LANDING_MS);
      await rolledUp();
      expect(await search.search(whole, UNBOUNDED)).toEqual(await rawAnswer(metricId));
    },
  );

  it('a roller that fails mid-slot leaves the slot to whoever rolls next, and answers stay exact meanwhile', async () => {
    const metricId = 'roller.fails';
    const points: Point[] = Array.from({ length: 90 }, (_, i) => ({
      metricId,
      ts: day + i * 61_000 + 7,
      value: i + 0.25,
    }));
    // Its own keyspace state: a separate roller, which fails on its third rollup write, on a shard the background roller
    // does not hold (it is stopped for this test).
    rolling.stop = true;
    await rolling.done;
    const forget = (owner: string) =>
      ks.client.execute(`DELETE FROM ${ks.keyspace}.meta WHERE key = ?`, [`roller/${owner}`]); // as its announcement expiring
    await forget('failures');
    await ingestService(store, { landingMarginMs: LANDING_MS }).ingest(
      points,
      insertRequest({ timeoutMs: TIMEOUT_MS }),
    );
    let writes = 0;
    const failing: RollupStore = Object.assign(Object.create(store) as CassandraPointStore, {
      writeRollups: async (...args: Parameters<CassandraPointStore['writeRollups']>) => {
        if (++writes === 3) throw new Error('timed out');
        return store.writeRollups(...args);
      },
    });
    const later = (): number => Date.now() + maxHoldMs(ks.config) + 60_000; // every hold given so far is over
    const broken = new Roller({
      store: failing,
      owner: 'broken',
      concurrency: 1,
      clockMarginMs: TEST_CLOCK_MARGIN_MS,
      clock: later,
    });
    await broken.balance();
    await expect(broken.rollDue()).rejects.toThrow('timed out');
    const whole = query(metricId, day, day + 86_400_000 - 1, 'sum');
    const search = searchService(store, { maxHoldMs: maxHoldMs(ks.config) });
    expect(await search.search(whole, UNBOUNDED)).toEqual(await rawAnswer(metricId));
    // Another roller takes the shards once the broken one's leases and announcement lapse, and rolls the slot again.
    await forget('broken');
    const next = new Roller({
      store,
      owner: 'next',
      concurrency: 4,
      clockMarginMs: TEST_CLOCK_MARGIN_MS,
      clock: () => later() + 120_000,
    });
    await next.balance();
    expect(next.status.shards).toHaveLength(SHARDS);
    await next.rollDue();
    expect(await search.search(whole, UNBOUNDED)).toEqual(await rawAnswer(metricId));
    const rows = await ks.client.execute(
      `SELECT n FROM ${ks.keyspace}.rollups WHERE metric_id = ? AND level = '1d' AND period = ?`,
      [metricId, Math.floor(day / 86_400_000 / 1024)],
    );
    expect(rows.rows.map((row) => Number(row.get('n')))).toEqual([90]);
  });
});
