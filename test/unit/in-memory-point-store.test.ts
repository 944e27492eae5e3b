/** The in-memory store keeps the Cassandra store's rules, so unit tests over it mean something. */
import { describe, expect, it } from 'vitest';
import { PointFold } from '../../src/domain/aggregate.js';
import { QUARTER } from '../../src/rollup/levels.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';

describe('the in-memory point store', () => {
  it('upserts by (metric, ts), the later write time winning, and scans a half-open range', async () => {
    const store = new InMemoryPointStore();
    await store.writePartition('m', 0, [
      { metricId: 'm', ts: 1, value: 1, writeTimeUs: 10 },
      { metricId: 'm', ts: 2, value: 5, writeTimeUs: 10 },
    ]);
    await store.writePartition('m', 0, [{ metricId: 'm', ts: 2, value: 3, writeTimeUs: 20 }]);
    await store.writePartition('m', 0, [{ metricId: 'm', ts: 2, value: 99, writeTimeUs: 15 }]); // older: loses, whenever it lands
    const seen: Array<[number, number]> = [];
    expect(await store.scanPoints('m', 0, 1, 3, (ts, value) => seen.push([ts, value]))).toBe(2);
    expect(seen).toEqual([
      [1, 1],
      [2, 3],
    ]);
    expect(await store.scanPoints('m', 0, 1, 2, () => undefined)).toBe(1);
  });

  it('keeps the rollup computed as of the later time, whichever lands last', async () => {
    const store = new InMemoryPointStore();
    const fold = (value: number) => {
      const f = new PointFold();
      f.add(0, value);
      return f.partial;
    };
    await store.writeRollups('m', QUARTER, 0, [{ start: 0, aggregate: fold(2) }], 200);
    await store.writeRollups('m', QUARTER, 0, [{ start: 0, aggregate: fold(1) }], 100);
    expect((await store.readRollups('m', QUARTER, 0, 0, QUARTER.ms)).map((row) => row.aggregate.max)).toEqual([2]);
  });

  it('queues minutes per (shard, slot) as sets that only grow', async () => {
    const store = new InMemoryPointStore();
    await store.markDirty(3, 7, [{ metricId: 'm', day: 1, minutes: [5, 1] }]);
    await store.markDirty(3, 7, [{ metricId: 'm', day: 1, minutes: [1, 9] }]);
    expect(await store.queuedFor(3, [7], ['m'])).toEqual([{ metricId: 'm', day: 1, minutes: [1, 5, 9] }]);
    expect(await store.queuedFor(3, [8], ['m'])).toEqual([]);
  });

  it('fails every call as storage_unavailable while unavailable', async () => {
    const store = new InMemoryPointStore();
    store.unavailable = true;
    expect(store.isReady()).toBe(false);
    await expect(store.markDirty(0, 0, [])).rejects.toMatchObject({ code: 'storage_unavailable' });
  });
});
