/**
 * Dropping history's rows on a real Cassandra: which hour partitions have rows with
 * no TTL, when a chunk was sealed, and a drop that deletes an hour's rows and
 * special samples written until its time and no later; then a whole pass, sealing
 * history and dropping its rows, with answers read from the chunks the same.
 * (The rules of the pass: test/unit/history-seal.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { encodeChunk } from '../../src/domain/chunk-codec.js';
import { decodeChunk } from '../../src/domain/chunk-decoder.js';
import { chunkPeriod, samplePartition } from '../../src/domain/partitions.js';
import { dropHistoryRows, historyToDrop, sealHistory } from '../../src/roller/history-seal.js';
import { NO_RETENTION } from '../../src/rollup/retention.js';
import { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import { dayBucket } from '../../src/time/day-bucket.js';
import { useFreshKeyspace } from '../support/keyspace.js';

const ks = useFreshKeyspace();
/** As an earlier version wrote: rows with no TTL. */
const history = (): CassandraPointStore => new CassandraPointStore(ks.client, ks.keyspace);
/** As this version writes: rows expire (MEETR_RAW_KEEP). */
const current = (): CassandraPointStore =>
  new CassandraPointStore(ks.client, ks.keyspace, undefined, { ...NO_RETENTION, rawKeep: 3 * 86_400_000 });
const HOUR = 3_600_000;
const hour = samplePartition(Date.parse('2025-03-01T10:00:00Z'));
const points = (metricId: string, at: number, writeTimeUs: number) =>
  [0, 1, 2].map((i) => ({ metricId, ts: at * HOUR + i * 1_000, value: i, writeTimeUs }));
const scan = async (metricId: string, at: number) => {
  const found: number[] = [];
  await history().scanPoints(metricId, at, at * HOUR, (at + 1) * HOUR, (ts) => found.push(ts));
  return found;
};

describe('history rows in Cassandra', () => {
  it('tell rows with no TTL from rows that expire, and a chunk’s seal time', async () => {
    await history().writePartition('f1', hour, points('f1', hour, 1));
    await current().writePartition('f2', hour, points('f2', hour, 1));
    expect(await history().keptForever('f1', hour)).toBe(true);
    expect(await history().keptForever('f2', hour)).toBe(false);
    expect(await history().keptForever('f3', hour)).toBe(false); // no rows at all
    expect(await history().chunkSealedAt('f1', hour)).toBeUndefined();
    await history().writeChunks('f1', [{ hour, bytes: encodeChunk([hour * HOUR], Float64Array.of(1)) }], 12_345);
    expect(await history().chunkSealedAt('f1', hour)).toBe(12_345);
  });

  it('drop an hour’s rows and special samples written as of a time; later writes stay, older ones are shadowed', async () => {
    await history().writePartition('d1', hour, points('d1', hour, 1_000));
    await history().writePartition('d1', hour, [
      { metricId: 'd1', ts: hour * HOUR + 9_000, value: 7, writeTimeUs: 5_000 },
    ]);
    await history().writePartition('d1', hour + 1, points('d1', hour + 1, 1_000));
    const day = dayBucket(hour * HOUR);
    const special = (at: number) => ({ ts: at * HOUR + 500, value: NaN, stale: true });
    await history().writeSpecialSamples('d1', day, [special(hour), special(hour + 1)], 1_000);
    await history().dropSampleHour('d1', hour, 4_000);
    expect(await scan('d1', hour)).toEqual([hour * HOUR + 9_000]);
    expect(await scan('d1', hour + 1)).toHaveLength(3); // another hour: untouched
    const left = await history().specialSamples('d1', day, hour * HOUR, (hour + 2) * HOUR);
    expect(left.map(({ ts }) => ts)).toEqual([(hour + 1) * HOUR + 500]);
    // A write older than the drop (a hint delivered late) stays deleted, as a tombstone shadows it.
    await history().writePartition('d1', hour, points('d1', hour, 3_000));
    expect(await scan('d1', hour)).toEqual([hour * HOUR + 9_000]);
  });

  it('are dropped by a pass once history is sealed, and read from the chunks after', async () => {
    const [at, metricId] = [hour + 100, 'p1'];
    await history().writePartition(metricId, at, points(metricId, at, 1));
    await current().writePartition('p2', at, points('p2', at, 1));
    // History sealed three hours ago, on that clock; the keyspace's shards start at the migration's slot, later.
    const sealedAtMs = Date.now() - 3 * HOUR;
    const pass = { store: history(), marginMs: 2_000, concurrency: 2, mayGoOn: () => true };
    await sealHistory({ ...pass, clock: () => sealedAtMs });
    expect(await historyToDrop(history())).toBe(sealedAtMs);
    const report = await dropHistoryRows({
      ...pass,
      clock: Date.now,
      sealedAtMs,
      maxHoldMs: 60_000,
      rawRetentionMs: undefined,
    });
    // Also the hours of the tests above: f1's (its chunk was sealed long ago) and d1's two (sealed by this pass).
    expect(report).toEqual({ hours: 6, dropped: 4, left: 0, unsealed: 0 });
    expect(await historyToDrop(history())).toBeUndefined();
    expect(await scan(metricId, at)).toEqual([]);
    expect(await scan('p2', at)).toHaveLength(3);
    const [chunk] = await history().readChunksAt(metricId, chunkPeriod(at), [at]);
    expect(Array.from(decodeChunk(chunk!.bytes).values)).toEqual([0, 1, 2]);
  });
});
