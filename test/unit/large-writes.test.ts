/**
 * Large writes (MEETR_LARGE_WRITE_PARTITIONS): two workers' ingest services over one
 * store, whose large-write lease lets one such request run at a time; the others are
 * shed at once, with nothing written.
 */
import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/domain/point.js';
import { OverloadedError } from '../../src/errors.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';
import type { PointWriter } from '../../src/storage/ports.js';
import { ingestService, insertRequest } from '../support/services.js';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
/** Requests over this many partitions or more are large here. */
const LARGE = 10;

/** One point of each of `n` series named `prefix.i`: n partitions. */
const seriesPoints = (prefix: string, n: number): Point[] =>
  Array.from({ length: n }, (_, i) => ({ metricId: `${prefix}.${i}`, ts: T0, value: i }));

/**
 * The store's writer, whose writes of series named `held.*` wait until open() is
 * called; `reached` resolves once the first of them waits.
 */
function heldWriter(store: InMemoryPointStore): { writer: PointWriter; open: () => void; reached: Promise<void> } {
  let open = (): void => undefined;
  let reach = (): void => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const held = <T>(metricId: string, write: () => Promise<T>): Promise<T> => {
    if (!metricId.startsWith('held.')) return write();
    reach();
    return gate.then(write);
  };
  const writer: PointWriter = {
    writePartition: (metricId, partition, points) =>
      held(metricId, () => store.writePartition(metricId, partition, points)),
    writePartitions: (shares) => held(shares[0]!.metricId, () => store.writePartitions(shares)),
    markDirty: (shard, slot, days) => store.markDirty(shard, slot, days),
    recordSeries: (shard, entries) => store.recordSeries(shard, entries),
    writeSpecialSamples: (metricId, day, samples, writeTimeUs) =>
      store.writeSpecialSamples(metricId, day, samples, writeTimeUs),
  };
  return { writer, open, reached };
}

/** Two workers over `store`, with the large-write lease in it, on `clock`. */
function twoWorkers(store: InMemoryPointStore, clock: { now: number }, writer: PointWriter = store) {
  const worker = () =>
    ingestService(writer, { largeWrites: { lease: store, partitions: LARGE }, clock: () => clock.now });
  return [worker(), worker()] as const;
}

const written = (store: InMemoryPointStore, prefix: string, n: number): number =>
  seriesPoints(prefix, n).filter(({ metricId }) => store.raw.points(metricId, T0 / HOUR, T0, T0 + 1).length > 0).length;

/** A store on a clock the test moves. */
function clockedStore(): { store: InMemoryPointStore; clock: { now: number } } {
  const clock = { now: T0 + HOUR };
  return { store: new InMemoryPointStore(undefined, () => clock.now), clock };
}

describe('large writes', () => {
  it('runs one at a time across workers: another is shed with nothing written, a small one runs beside it, the next takes the lease once it ends', async () => {
    const { store, clock } = clockedStore();
    const { writer, open, reached } = heldWriter(store);
    const [a, b] = twoWorkers(store, clock, writer);
    const first = a.ingest(seriesPoints('held', LARGE), insertRequest({ receivedMs: clock.now }));
    await reached; // the first holds the lease and is writing

    const shed = b.ingest(seriesPoints('other', LARGE), insertRequest({ receivedMs: clock.now }));
    await expect(shed).rejects.toBeInstanceOf(OverloadedError);
    await expect(shed).rejects.toMatchObject({
      reason: 'large_write_busy',
      message: expect.stringMatching(/writes 10 partitions .*(MEETR_LARGE_WRITE_PARTITIONS)/),
    });
    expect(written(store, 'other', LARGE)).toBe(0);
    await expect(
      a.ingest(seriesPoints('third', LARGE), insertRequest({ receivedMs: clock.now })),
    ).rejects.toMatchObject({ reason: 'large_write_busy' });

    expect(await b.ingest(seriesPoints('small', LARGE - 1), insertRequest({ receivedMs: clock.now }))).toBe(LARGE - 1);
    expect(written(store, 'small', LARGE - 1)).toBe(LARGE - 1);

    open();
    expect(await first).toBe(LARGE);
    expect(written(store, 'held', LARGE)).toBe(LARGE);
    expect(await b.ingest(seriesPoints('other', LARGE), insertRequest({ receivedMs: clock.now }))).toBe(LARGE);
    expect(written(store, 'other', LARGE)).toBe(LARGE);
  });

  it('holds the lease until the request may no longer land, gives it back when the write fails, and a holder that died loses it with its TTL', async () => {
    const { store, clock } = clockedStore();
    const ttls: number[] = [];
    const take = store.takeLargeWrite.bind(store);
    store.takeLargeWrite = (owner, ttlSeconds) => {
      ttls.push(ttlSeconds);
      return take(owner, ttlSeconds);
    };
    const failing: PointWriter = {
      ...heldWriter(store).writer, // passes every other write through: no series here is named held.*
      writePartitions: async (shares) => {
        if (shares[0]!.metricId.startsWith('fail.')) throw new Error('write timeout');
        await store.writePartitions(shares);
      },
    };
    const [a, b] = twoWorkers(store, clock, failing);
    // A 20 s deadline and a 1 s landing margin (support/services.ts).
    await a.ingest(seriesPoints('x', LARGE), insertRequest({ receivedMs: clock.now }));
    expect(ttls).toEqual([21]);

    await expect(a.ingest(seriesPoints('fail', LARGE), insertRequest({ receivedMs: clock.now }))).rejects.toThrow(
      'write timeout',
    );
    ttls.length = 0;
    await b.ingest(seriesPoints('y', LARGE), insertRequest({ receivedMs: clock.now }));
    expect(ttls).toEqual([21]);

    expect(await store.takeLargeWrite('a worker that died', 5)).toBe(true);
    await expect(b.ingest(seriesPoints('z', LARGE), insertRequest({ receivedMs: clock.now }))).rejects.toMatchObject({
      reason: 'large_write_busy',
    });
    clock.now += 5_000;
    expect(await b.ingest(seriesPoints('z', LARGE), insertRequest({ receivedMs: clock.now }))).toBe(LARGE);
  });

  it('leaves requests below the size alone: no lease is asked for', async () => {
    const { store, clock } = clockedStore();
    let asked = 0;
    store.takeLargeWrite = async () => {
      asked++;
      return false;
    };
    const [a] = twoWorkers(store, clock);
    // Many points, few partitions: one series over LARGE - 1 hours.
    const points = Array.from({ length: 1_000 }, (_, i) => ({
      metricId: 'one',
      ts: T0 + (i % (LARGE - 1)) * HOUR,
      value: i,
    }));
    expect(await a.ingest(points, insertRequest({ receivedMs: clock.now }))).toBe(1_000);
    expect(asked).toBe(0);
  });
});
