/** The in-memory store keeps the Cassandra store's rules, so unit tests over it mean something. */
import { describe, expect, it } from 'vitest';
import { partialOf } from '../../src/domain/aggregate.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';
import { dayEntries } from '../support/services.js';

describe('the in-memory point store', () => {
  it('upserts by (metric, ts) and aggregates an inclusive range', async () => {
    const store = new InMemoryPointStore();
    await store.writePartition('m', 0, [
      { metricId: 'm', ts: 1, value: 1, writeTimeUs: 10 },
      { metricId: 'm', ts: 2, value: 5, writeTimeUs: 10 },
    ]);
    await store.writePartition('m', 0, [{ metricId: 'm', ts: 2, value: 3, writeTimeUs: 20 }]);
    await store.writePartition('m', 0, [{ metricId: 'm', ts: 2, value: 99, writeTimeUs: 15 }]); // older: loses, whenever it lands
    expect(await store.aggregateDay('m', 0, 1, 2)).toEqual(partialOf(2, 4, 1, 3));
    const seen: Array<[number, number]> = [];
    expect(await store.scanPoints('m', 0, 2, 10, (ts, value) => seen.push([ts, value]))).toBe(1);
    expect(seen).toEqual([[2, 3]]);
  });

  it('hides a summary dated at or before a hold, the latest hold standing, as the Cassandra store does', async () => {
    const store = new InMemoryPointStore();
    const entry = async () => (await dayEntries(store, 'm', 0, 10))[0];
    await store.markDays('m', [5]);
    await store.saveDaySummaries('m', [{ day: 5, summary: partialOf(1, 1, 1, 1) }], 100);
    await store.holdDaySummaries('m', [5], 100); // a tie: the hold wins
    expect(await entry()).toEqual({ day: 5, summary: undefined, heldUntilMs: 100 });
    await store.holdDaySummaries('m', [5], 50); // an earlier hold landing late changes nothing
    await store.saveDaySummaries('m', [{ day: 5, summary: partialOf(1, 1, 1, 1) }], 99); // older than the hold
    expect((await entry())?.summary).toBeUndefined();
    await store.saveDaySummaries('m', [{ day: 5, summary: partialOf(2, 2, 1, 1) }], 101);
    expect(await entry()).toEqual({ day: 5, summary: partialOf(2, 2, 1, 1), heldUntilMs: 100 });
  });

  it('fails every call as storage_unavailable while unavailable', async () => {
    const store = new InMemoryPointStore();
    store.unavailable = true;
    expect(store.isReady()).toBe(false);
    await expect(store.markDays('m', [1])).rejects.toMatchObject({ code: 'storage_unavailable' });
  });
});
