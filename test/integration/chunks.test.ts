/**
 * Sealed chunks on a real Cassandra: stored by hour in 32-day partitions, the later
 * seal winning, with a TTL from the end of their hour; and the roll queue read for
 * several metrics at once; history written before chunks sealed once. (Reads through chunks with a roller at work:
 * properties.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { encodeChunk } from '../../src/domain/chunk-codec.js';
import { decodeChunk } from '../../src/domain/chunk-decoder.js';
import { chunkPeriod, HOURS_PER_CHUNK_PERIOD, samplePartition } from '../../src/domain/partitions.js';
import { historyState, sealHistory } from '../../src/roller/history-seal.js';
import { parseRetention } from '../../src/rollup/retention.js';
import { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import { CHUNK_BATCH_BYTES } from '../../src/storage/cassandra/statements.js';
import { chunksOf, chunksOfSeries } from '../../src/storage/sealed-reads.js';
import { useFreshKeyspace } from '../support/keyspace.js';

const ks = useFreshKeyspace();
const store = (): CassandraPointStore => new CassandraPointStore(ks.client, ks.keyspace);
const HOUR = 3_600_000;
const chunkOf = (ts: number[], values: number[]) => encodeChunk(ts, Float64Array.from(values));

describe('chunks in Cassandra', () => {
  it('of one series are written together, a batch per partition of bounded bytes', async () => {
    const last = 5 * HOURS_PER_CHUNK_PERIOD - 1;
    // Two hours on each side of a partition boundary, and two chunks too large to share a batch.
    const small = [last - 1, last, last + 1, last + 2].map((hour) => ({ hour, bytes: chunkOf([hour * HOUR], [hour]) }));
    const big = [last + 3, last + 4].map((hour) => {
      const ts = Array.from({ length: 20_000 }, (_, i) => hour * HOUR + i * 100);
      return {
        hour,
        bytes: chunkOf(
          ts,
          ts.map(() => Math.random()),
        ),
      };
    });
    expect(big[0]!.bytes.length).toBeGreaterThan(CHUNK_BATCH_BYTES / 2);
    await store().writeChunks('b', [...big, ...small], 10);
    const stored = [
      ...(await store().readChunks(['b'], chunkPeriod(last), last - 1, last + 1)),
      ...(await store().readChunks(['b'], chunkPeriod(last + 1), last + 1, last + 5)),
    ];
    expect(stored.map(({ hour }) => hour)).toEqual([last - 1, last, last + 1, last + 2, last + 3, last + 4]);
    for (const { hour, bytes } of stored)
      expect(Buffer.compare(bytes, [...small, ...big].find((chunk) => chunk.hour === hour)!.bytes)).toBe(0);
  });

  it('are read by hour range within their partition, and the later seal wins whichever lands last', async () => {
    const first = 3 * HOURS_PER_CHUNK_PERIOD - 1; // the last hour of a partition
    await store().writeChunks('c', [{ hour: first, bytes: chunkOf([first * HOUR], [1]) }], 10);
    await store().writeChunks('c', [{ hour: first + 1, bytes: chunkOf([(first + 1) * HOUR], [2]) }], 10);
    await store().writeChunks('c', [{ hour: first, bytes: chunkOf([first * HOUR], [3]) }], 30);
    await store().writeChunks('c', [{ hour: first, bytes: chunkOf([first * HOUR], [4]) }], 20);
    const read = await store().readChunks(['c'], chunkPeriod(first), first, first + 2);
    expect(read.map(({ hour }) => hour)).toEqual([first]);
    expect(Array.from(decodeChunk(read[0]!.bytes).values)).toEqual([3]);
    const next = await store().readChunks(['c'], chunkPeriod(first + 1), first, first + 2);
    expect(next.map(({ hour }) => hour)).toEqual([first + 1]);
    expect(await store().readChunks(['c'], chunkPeriod(first), first + 1, first + 2)).toEqual([]);
  });

  it('carry whether their hour is plain, read without the chunk; a chunk sealed before that was recorded has no mark', async () => {
    const hour = 4 * HOURS_PER_CHUNK_PERIOD + 10;
    await store().writeChunks('p', [{ hour, bytes: chunkOf([hour * HOUR], [1]), plain: true }], 10);
    await store().writeChunks('p', [{ hour: hour + 1, bytes: chunkOf([(hour + 1) * HOUR], [NaN]), plain: false }], 10);
    await store().writeChunks('p', [{ hour: hour + 2, bytes: chunkOf([(hour + 2) * HOUR], [2]) }], 10);
    await store().writeChunks('p', [{ hour, bytes: chunkOf([hour * HOUR], [Infinity]), plain: false }], 20);
    expect(await store().readChunkMarks('p', chunkPeriod(hour), hour, hour + 3)).toEqual([
      { hour, plain: false },
      { hour: hour + 1, plain: false },
      { hour: hour + 2 },
    ]);
    expect(await store().readChunkMarks('p', chunkPeriod(hour), hour + 1, hour + 2)).toEqual([
      { hour: hour + 1, plain: false },
    ]);
  });

  it('are read by a list of scattered hours within their partition, and through chunksOf across partitions', async () => {
    const start = 5 * HOURS_PER_CHUNK_PERIOD - 40;
    for (let hour = start; hour < start + 80; hour += 3)
      await store().writeChunks('s', [{ hour, bytes: chunkOf([hour * HOUR + 7], [hour]) }], 10);
    const wanted = [start, start + 2, start + 3, start + 39];
    const read = await store().readChunksAt('s', chunkPeriod(start), wanted);
    expect(read.map(({ hour }) => hour)).toEqual([start, start + 3, start + 39]);
    expect(Array.from(decodeChunk(read[1]!.bytes).values)).toEqual([start + 3]);
    // Every other hour over two partitions: 300 of them in the first, more than one read names.
    const hours = Array.from({ length: 320 }, (_, i) => start - 560 + 2 * i);
    const chunks = await chunksOf(store(), 's', hours);
    const written = hours.filter((hour) => hour >= start && (hour - start) % 3 === 0);
    expect([...chunks.keys()].sort((a, b) => a - b)).toEqual(written);
    expect(Array.from(decodeChunk(chunks.get(start + 42)!).ts)).toEqual([(start + 42) * HOUR + 7]);
  });

  it('are read for several series in one statement, and through chunksOfSeries grouped by range, in the order asked', async () => {
    const start = 6 * HOURS_PER_CHUNK_PERIOD - 2; // two hours before a partition ends
    const series = Array.from({ length: 20 }, (_, i) => `many.${i}`);
    for (const [i, metricId] of series.entries())
      for (let hour = start; hour < start + 4; hour++)
        if ((hour + i) % 3 !== 0)
          await store().writeChunks(metricId, [{ hour, bytes: chunkOf([hour * HOUR], [i]) }], 10);
    const stored = (i: number, hours: number[]): number[] =>
      hours.filter((hour) => hour >= start && hour < start + 4 && (hour + i) % 3 !== 0);
    const read = await store().readChunks(['many.3', 'none', 'many.1'], chunkPeriod(start), start, start + 2);
    const byMetric = (id: string): number[] => read.filter((c) => c.metricId === id).map(({ hour }) => hour);
    expect(read).toHaveLength(stored(3, [start, start + 1]).length + stored(1, [start, start + 1]).length);
    expect(byMetric('many.3')).toEqual(stored(3, [start, start + 1]));
    expect(byMetric('many.1')).toEqual(stored(1, [start, start + 1]));
    // 20 series with the same hours (more than one statement names), one asked twice, one over other hours, one scattered.
    const all = [start, start + 1, start + 2, start + 3];
    const requests = [
      ...series.map((metricId) => ({ metricId, hours: all })),
      { metricId: 'many.5', hours: all },
      { metricId: 'many.6', hours: [start + 1, start + 2] },
      { metricId: 'many.7', hours: [start - 5, start - 3, start, start + 3] },
    ];
    const found = await chunksOfSeries(store(), requests, 4);
    const asked = requests.map(({ metricId, hours }) => stored(Number(metricId.split('.')[1]), hours));
    expect(found.map((chunks) => [...chunks.keys()].sort((a, b) => a - b))).toEqual(asked);
    for (const [index, chunks] of found.entries())
      for (const bytes of chunks.values())
        expect(Array.from(decodeChunk(bytes).values)).toEqual([Number(requests[index]!.metricId.split('.')[1])]);
  });

  it('expire by MEETR_RETENTION_RAW counted from the end of their hour', async () => {
    const retention = { raw: parseRetention('30d')!, levels: {} as never };
    const now = Date.parse('2026-06-01T00:00:00Z');
    const kept = new CassandraPointStore(ks.client, ks.keyspace, undefined, retention, () => now);
    const hour = samplePartition(now - 2 * 86_400_000);
    await kept.writeChunks('ttl', [{ hour, bytes: chunkOf([hour * HOUR], [1]) }], 1);
    const row = (
      await ks.client.execute(
        `SELECT TTL(chunk) AS ttl FROM ${ks.keyspace}.chunks WHERE metric_id = ? AND period = ?`,
        ['ttl', chunkPeriod(hour)],
      )
    ).first();
    const expected = ((hour + 1) * HOUR + 30 * 86_400_000 - now) / 1000;
    expect(row.get('ttl') as number).toBeGreaterThan(expected - 60);
    expect(row.get('ttl') as number).toBeLessThanOrEqual(expected);
  });

  it('raw rows expire MEETR_RAW_KEEP after they are written, sooner when raw retention ends first', async () => {
    const now = Date.parse('2026-06-01T00:00:00Z');
    const ttlOf = async (metricId: string, retention: { raw: number | undefined; rawKeep: number }) => {
      const kept = new CassandraPointStore(
        ks.client,
        ks.keyspace,
        undefined,
        { ...retention, levels: {} as never },
        () => now,
      );
      const ts = now - 86_400_000;
      await kept.writePartition(metricId, samplePartition(ts), [{ metricId, ts, value: 1, writeTimeUs: 1 }]);
      await kept.writeSpecialSamples(metricId, Math.floor(ts / 86_400_000), [{ ts, value: NaN, stale: true }], 1);
      const ttl = async (query: string) =>
        (await ks.client.execute(query, [metricId], { prepare: true })).first().get('ttl') as number;
      return [
        await ttl(
          `SELECT TTL(value) AS ttl FROM ${ks.keyspace}.samples WHERE metric_id = ? AND hour = ${samplePartition(ts)}`,
        ),
        await ttl(
          `SELECT TTL(value) AS ttl FROM ${ks.keyspace}.special_samples WHERE metric_id = ? AND day = ${Math.floor(ts / 86_400_000)}`,
        ),
      ];
    };
    const threeDays = 3 * 86_400;
    for (const ttl of await ttlOf('keep', { raw: undefined, rawKeep: threeDays * 1000 })) {
      expect(ttl).toBeGreaterThan(threeDays - 60);
      expect(ttl).toBeLessThanOrEqual(threeDays);
    }
    // Kept 2 days from its own time, a day old: a day left, under the 3 days of the write-ahead layer.
    for (const ttl of await ttlOf('short', { raw: 2 * 86_400_000, rawKeep: threeDays * 1000 })) {
      expect(ttl).toBeGreaterThan(86_400 - 60);
      expect(ttl).toBeLessThanOrEqual(86_400);
    }
  });

  it('seal the history written before them once: every hour partition listed, each over and unsealed one sealed', async () => {
    const hour = samplePartition(Date.parse('2025-01-01T00:00:00Z'));
    for (const [metricId, offset] of [
      ['h1', 0],
      ['h1', 1],
      ['h2', 5],
    ] as const) {
      const points = [0, 1, 2].map((i) => ({ metricId, ts: (hour + offset) * HOUR + i, value: i, writeTimeUs: 1 }));
      await store().writePartition(metricId, hour + offset, points);
    }
    await store().writeChunks('h2', [{ hour: hour + 5, bytes: chunkOf([(hour + 5) * HOUR], [9]) }], 10);
    const listed = [];
    for await (const partition of store().sampleHours()) if (partition.metricId.startsWith('h')) listed.push(partition);
    expect(listed).toHaveLength(3);
    expect(await historyState(store())).toBe('pending');
    const pass = { store: store(), clock: Date.now, marginMs: 2_000, concurrency: 2, mayGoOn: () => true };
    const report = await sealHistory(pass);
    // Other tests of this file left raw rows too: h1's two hours are among the hours sealed, h2's is not.
    expect(report!.sealed).toBe(report!.hours - 1);
    expect(await historyState(store())).toBe('sealed');
    const sealed = await store().readChunks(['h1'], chunkPeriod(hour), hour, hour + 2);
    expect(sealed.map((chunk) => Array.from(decodeChunk(chunk.bytes).values))).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
    const [kept] = await store().readChunksAt('h2', chunkPeriod(hour + 5), [hour + 5]);
    expect(Array.from(decodeChunk(kept!.bytes).values)).toEqual([9]); // it had a chunk: left alone
  });

  it('the roll queue answers for the metrics and slots asked about only', async () => {
    await store().markDirty(3, 77, [
      { metricId: 'q1', day: 10, minutes: [1, 2] },
      { metricId: 'q2', day: 11, minutes: [3] },
      { metricId: 'q3', day: 12, minutes: [4] },
    ]);
    await store().markDirty(3, 78, [{ metricId: 'q3', day: 13, minutes: [5] }]);
    await store().markDirty(3, 79, [{ metricId: 'q1', day: 14, minutes: [6] }]);
    await store().markDirty(4, 78, [{ metricId: 'q1', day: 15, minutes: [7] }]);
    const rows = await store().queuedFor(3, [77, 78, 80], ['q1', 'q3', 'absent']);
    expect(rows.sort((a, b) => a.day - b.day)).toEqual([
      { metricId: 'q1', day: 10, minutes: [1, 2] },
      { metricId: 'q3', day: 12, minutes: [4] },
      { metricId: 'q3', day: 13, minutes: [5] },
    ]);
  });
});
