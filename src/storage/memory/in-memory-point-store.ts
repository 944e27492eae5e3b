/**
 * The storage ports over plain Maps in this process: for unit tests of the HTTP
 * edge and the services, never for anything about storage itself. It keeps the
 * same rules as the Cassandra store: upserts by (metric, ts) where the later
 * write time wins (on a tie the greater value, as in Cassandra), rollup rows where
 * the latest as-of time wins, queue rows that only grow, and leases that are taken
 * only when still as seen.
 */
import { type SpecialValue } from '../../domain/point.js';
import { groupOf } from '../../domain/groups.js';
import { compareText } from '../../domain/series.js';
import type { Level } from '../../rollup/levels.js';
import type { EpochMs } from '../../time/units.js';
import {
  compareCatalogueKeys,
  type CatalogueEntry,
  type CatalogueSlice,
  type DirtyDay,
  type PointWriter,
  type SeriesReader,
  type RangeReader,
  type RollupRow,
  type RollupStore,
  type ChunkMark,
  type SealedChunk,
  type SeriesChunk,
  type PartitionShare,
  type StampedPoint,
  type Storage,
  type StorageHealth,
} from '../ports.js';
import { HOURS_PER_CHUNK_PERIOD, partitionKey } from '../../domain/partitions.js';
import type { HistoryStore, SampleHour } from '../history-ports.js';
import { InMemoryRaw } from './in-memory-raw.js';
import { InMemoryRollerLeases } from './in-memory-roller-leases.js';

export class InMemoryPointStore
  extends InMemoryRollerLeases
  implements PointWriter, RangeReader, RollupStore, HistoryStore, SeriesReader, StorageHealth
{
  /** Raw points and special samples; `raw.rowsExpire = false` writes them as an earlier version did. */
  readonly raw = new InMemoryRaw();
  /** (shard, slot) -> (metric, day) -> queued minutes. */
  private readonly queue = new Map<string, Map<string, { metricId: string; day: number; minutes: Set<number> }>>();
  /** (metric, level, period) -> start -> row and the time it was computed as of. */
  private readonly rollups = new Map<string, Map<EpochMs, { row: RollupRow; asOfUs: number }>>();
  /** (metric, hour) -> its sealed chunk and the time it was sealed as of. */
  private readonly chunks = new Map<string, { chunk: SealedChunk; asOfUs: number }>();
  /** Catalogue shard -> (name, metric id) -> entry. */
  private readonly catalogue = new Map<number, Map<string, CatalogueEntry>>();
  /** Statements run, by kind: what a test can assert a plan against. */
  readonly calls = {
    writePartition: 0,
    writePartitions: 0,
    markDirty: 0,
    recordSeries: 0,
    listSeries: 0,
    readQueue: 0,
    readRollups: 0,
    scanPoints: 0,
    writeRollups: 0,
    readChunks: 0,
    readChunkMarks: 0,
    specialSamples: 0,
    /** Chunks written (several may share a statement). */
    writeChunk: 0,
  };

  /** `firstSlot`: where every shard starts, as the migrate command sets it (by default the current slot). */
  constructor(firstSlot?: number, clock: () => EpochMs = Date.now) {
    super(firstSlot, clock);
  }

  /** This store as the services' Storage. */
  asStorage(): Storage {
    return { writer: this, largeWrites: this, reader: this, series: this, health: this };
  }

  isReady(): boolean {
    return !this.unavailable;
  }

  /** This store's clock stands for Cassandra's. */
  async serverTimeMs(): Promise<EpochMs> {
    this.check('read clock');
    return this.clock();
  }

  async writePartitions(shares: readonly PartitionShare[]): Promise<void> {
    this.check('write batch');
    this.calls.writePartitions++;
    for (const { metricId, partition, points } of shares) this.raw.store(metricId, partition, points);
  }

  async writePartition(metricId: string, partition: number, points: readonly StampedPoint[]): Promise<void> {
    this.check('write batch');
    this.calls.writePartition++;
    this.raw.store(metricId, partition, points);
  }

  /** For tests: drops every raw point and special sample, as MEETR_RAW_KEEP's TTL does; what is left is in chunks. */
  expireRaw(): void {
    this.raw.expire();
  }

  async *sampleHours(): AsyncGenerator<SampleHour> {
    this.check('list sample hours');
    yield* this.raw.hours();
  }

  async keptForever(metricId: string, hour: number): Promise<boolean> {
    this.check('read raw row TTL');
    return this.raw.keptForever(metricId, hour);
  }

  async chunkSealedAt(metricId: string, hour: number): Promise<number | undefined> {
    this.check('read chunk write time');
    return this.chunks.get(partitionKey(metricId, hour))?.asOfUs;
  }

  async dropSampleHour(metricId: string, hour: number, asOfUs: number): Promise<void> {
    this.check('drop raw rows');
    this.raw.drop(metricId, hour, asOfUs);
  }

  async markDirty(shard: number, slot: number, days: readonly DirtyDay[]): Promise<void> {
    this.check('queue rollups');
    this.calls.markDirty++;
    const rows = groupOf(this.queue, `${shard}/${slot}`, () => new Map());
    for (const { metricId, day, minutes } of days) {
      const rowKey = partitionKey(metricId, day);
      let row = rows.get(rowKey);
      if (row === undefined) rows.set(rowKey, (row = { metricId, day, minutes: new Set() }));
      for (const minute of minutes) row.minutes.add(minute);
    }
  }

  async recordSeries(shard: number, entries: readonly CatalogueEntry[]): Promise<void> {
    this.check('record series');
    this.calls.recordSeries++;
    let rows = this.catalogue.get(shard);
    if (rows === undefined) this.catalogue.set(shard, (rows = new Map()));
    for (const entry of entries) {
      const key = `${entry.name}\u0000${entry.metricId}`;
      const earlier = rows.get(key);
      const [firstDay, lastDay] = [
        Math.min(earlier?.firstDay ?? Infinity, entry.firstDay),
        Math.max(earlier?.lastDay ?? -Infinity, entry.lastDay),
      ];
      rows.set(key, { ...entry, firstDay, lastDay });
    }
  }

  async writeSpecialSamples(
    metricId: string,
    day: number,
    samples: readonly SpecialValue[],
    writeTimeUs: number,
  ): Promise<void> {
    this.check('write special samples');
    this.raw.storeSpecial(metricId, day, samples, writeTimeUs);
  }

  async specialSamples(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): Promise<SpecialValue[]> {
    this.check('read special samples');
    this.calls.specialSamples++;
    return this.raw.specialSamples(metricId, day, fromMs, toMs);
  }

  async listSeries(
    shard: number,
    limit: number,
    { name, after, before }: CatalogueSlice = {},
  ): Promise<CatalogueEntry[]> {
    this.check('list series');
    this.calls.listSeries++;
    const inSlice = (e: CatalogueEntry): boolean =>
      (name ?? e.name) === e.name &&
      (after === undefined || compareCatalogueKeys(e, after) > 0) &&
      (before === undefined || compareText(e.name, before) < 0);
    return [...(this.catalogue.get(shard)?.values() ?? [])].filter(inSlice).sort(compareCatalogueKeys).slice(0, limit);
  }

  async rolledThrough(shard: number): Promise<number> {
    return (await this.readShard(shard)).nextSlot;
  }

  async queuedFor(shard: number, slots: readonly number[], metricIds: readonly string[]): Promise<DirtyDay[]> {
    const wanted = new Set(metricIds);
    const rows = await Promise.all([...new Set(slots)].map((slot) => this.slotDays(shard, slot)));
    return rows.flat().filter((row) => wanted.has(row.metricId));
  }

  async readChunks(metricIds: readonly string[], period: number, from: number, to: number): Promise<SeriesChunk[]> {
    this.calls.readChunks++;
    return [...new Set(metricIds)].flatMap((metricId) =>
      this.storedChunks(metricId, period, [from, to]).map((chunk) => ({ metricId, ...chunk })),
    );
  }

  async readChunkMarks(metricId: string, period: number, fromHour: number, toHour: number): Promise<ChunkMark[]> {
    this.calls.readChunkMarks++;
    return this.storedChunks(metricId, period, [fromHour, toHour]);
  }

  async readChunksAt(metricId: string, period: number, hours: readonly number[]): Promise<SealedChunk[]> {
    this.calls.readChunks++;
    return this.storedChunks(metricId, period, ...hours.map((hour): [number, number] => [hour, hour + 1]));
  }

  /** The chunks of one chunk partition within any of the hour ranges [from, to). */
  private storedChunks(metricId: string, period: number, ...ranges: Array<[number, number]>): SealedChunk[] {
    this.check('read chunks');
    const chunks: SealedChunk[] = [];
    const [first, end] = [period * HOURS_PER_CHUNK_PERIOD, (period + 1) * HOURS_PER_CHUNK_PERIOD];
    for (const [from, to] of ranges)
      for (let hour = Math.max(from, first); hour < Math.min(to, end); hour++) {
        const stored = this.chunks.get(partitionKey(metricId, hour));
        if (stored !== undefined) chunks.push(stored.chunk);
      }
    return chunks;
  }

  async writeChunks(metricId: string, chunks: readonly SealedChunk[], asOfUs: number): Promise<void> {
    this.check('write chunks');
    for (const chunk of chunks) {
      this.calls.writeChunk++;
      const key = partitionKey(metricId, chunk.hour);
      const earlier = this.chunks.get(key);
      if (earlier === undefined || asOfUs >= earlier.asOfUs) this.chunks.set(key, { chunk, asOfUs });
    }
  }

  async slotDays(shard: number, slot: number): Promise<DirtyDay[]> {
    this.check('read roll queue');
    this.calls.readQueue++;
    return [...(this.queue.get(`${shard}/${slot}`)?.values() ?? [])].map(({ metricId, day, minutes }) => ({
      metricId,
      day,
      minutes: [...minutes].sort((a, b) => a - b),
    }));
  }

  async readRollups(
    metricId: string,
    level: Level,
    period: number,
    fromMs: EpochMs,
    toMs: EpochMs,
  ): Promise<RollupRow[]> {
    this.check('read rollups');
    this.calls.readRollups++;
    return [...(this.rollups.get(rollupKey(metricId, level, period))?.values() ?? [])]
      .map(({ row }) => row)
      .filter(({ start }) => start >= fromMs && start < toMs)
      .sort((a, b) => a.start - b.start);
  }

  async scanPoints(
    metricId: string,
    partition: number,
    fromMs: EpochMs,
    toMs: EpochMs,
    visit: (ts: EpochMs, value: number) => void,
  ): Promise<number> {
    this.check('scan points');
    this.calls.scanPoints++;
    const inRange = this.raw.points(metricId, partition, fromMs, toMs);
    for (const [ts, value] of inRange) visit(ts, value);
    return inRange.length;
  }

  async writeRollups(
    metricId: string,
    level: Level,
    period: number,
    rows: readonly RollupRow[],
    asOfUs: number,
  ): Promise<void> {
    this.check('write rollups');
    this.calls.writeRollups++;
    const key = rollupKey(metricId, level, period);
    let stored = this.rollups.get(key);
    if (stored === undefined) this.rollups.set(key, (stored = new Map()));
    for (const row of rows) {
      const earlier = stored.get(row.start);
      if (earlier === undefined || asOfUs >= earlier.asOfUs) stored.set(row.start, { row, asOfUs });
    }
  }
}

function rollupKey(metricId: string, level: Level, period: number): string {
  return `${level.name}/${period}\u0000${metricId}`;
}
