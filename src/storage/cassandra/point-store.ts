import cassandra from 'cassandra-driver';
import type { SpecialValue } from '../../domain/point.js';
import type { Level } from '../../rollup/levels.js';
import { NO_RETENTION, rawTtlSeconds, ttlSeconds, type Retention } from '../../rollup/retention.js';
import { dayStartMs } from '../../time/day-bucket.js';
import { MS_PER_HOUR, type EpochMs } from '../../time/units.js';
import { chunkPeriod } from '../../domain/partitions.js';
import {
  dirtyDayChunks,
  seriesChunks,
  type CatalogueEntry,
  type CatalogueSlice,
  type SeriesReader,
  type DirtyDay,
  type PointWriter,
  type RangeReader,
  type RollupRow,
  type PartitionShare,
  type RollupStore,
  type ChunkMark,
  type SealedChunk,
  type SeriesChunk,
  type StampedPoint,
} from '../ports.js';
import type { HistoryStore } from '../history-ports.js';
import { type CassandraClient, type StatementConsistency } from './client.js';
import { CassandraRollerLeases } from './roller-leases.js';
import {
  catalogueEntryOf,
  firstDayWriteTime,
  lastDayWriteTime,
  rollupOf,
  rollupParams,
  CHUNK_BATCH_BYTES,
  ROLLUPS_PER_STATEMENT,
  chunkMarkOf,
  sealedChunkOf,
  seriesChunkOf,
} from './statements.js';

/**
 * Points, rollups and the roll queue in Cassandra. Writes go as unlogged batches
 * of one partition each (never across partitions). Reads and writes each run at
 * their own consistency level; the roller's leases are lightweight transactions.
 */
export class CassandraPointStore
  extends CassandraRollerLeases
  implements PointWriter, RangeReader, RollupStore, HistoryStore, SeriesReader
{
  constructor(
    client: CassandraClient,
    keyspace: string,
    consistency?: StatementConsistency,
    private readonly retention: Retention = NO_RETENTION,
    clock: () => EpochMs = Date.now,
  ) {
    super(client, keyspace, consistency, clock);
  }

  async writePartition(metricId: string, partition: number, points: readonly StampedPoint[]): Promise<void> {
    await this.writePartitions([{ metricId, partition, points }]);
  }

  async writePartitions(shares: readonly PartitionShare[]): Promise<void> {
    const query = this.statements.insertPoint;
    const now = this.clock();
    const queries = shares.flatMap(({ metricId, partition, points }) =>
      points.map((point) => ({
        query,
        params: [
          metricId,
          partition,
          point.ts,
          point.value,
          point.writeTimeUs,
          rawTtlSeconds(this.retention, point.ts, now),
        ],
      })),
    );
    await this.batchOnce(queries.length === 1 ? 'write point' : 'write batch', queries);
  }

  async markDirty(shard: number, slot: number, days: readonly DirtyDay[]): Promise<void> {
    for (const chunk of dirtyDayChunks(days))
      await this.batchOnce(
        'queue rollups',
        chunk.map(({ metricId, day, minutes }) => ({
          query: this.statements.markDirty,
          params: [minutes, shard, cassandra.types.Long.fromNumber(slot), metricId, day],
        })),
      );
  }

  async recordSeries(shard: number, entries: readonly CatalogueEntry[]): Promise<void> {
    const now = this.clock();
    const retention = this.retention.levels['1d'];
    const queriesOf = (chunk: readonly CatalogueEntry[]) =>
      chunk.flatMap(({ metricId, name, firstDay, lastDay }) => [
        {
          query: this.statements.seriesFirstDay,
          params: [
            firstDayWriteTime(firstDay),
            ttlSeconds(dayStartMs(firstDay + 1), retention, now),
            firstDay,
            shard,
            name,
            metricId,
          ],
        },
        {
          query: this.statements.seriesLastDay,
          params: [
            lastDayWriteTime(lastDay),
            ttlSeconds(dayStartMs(lastDay + 1), retention, now),
            lastDay,
            shard,
            name,
            metricId,
          ],
        },
      ]);
    for (const chunk of seriesChunks(entries)) await this.batchOnce('record series', queriesOf(chunk));
  }

  async writeSpecialSamples(
    metricId: string,
    day: number,
    samples: readonly SpecialValue[],
    writeTimeUs: number,
  ): Promise<void> {
    const now = this.clock();
    const queries = samples.map(({ ts, value, stale }) => ({
      query: this.statements.insertSpecialSample,
      params: [metricId, day, ts, value, stale, writeTimeUs, rawTtlSeconds(this.retention, ts, now)],
    }));
    await this.batchInChunks('write special samples', queries, 100);
  }

  async specialSamples(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): Promise<SpecialValue[]> {
    return this.rows('read special samples', this.statements.specialSamples, [metricId, day, fromMs, toMs], (row) => ({
      ts: (row.get('ts') as Date).getTime(),
      value: row.get('value') as number,
      stale: row.get('stale') === true,
    }));
  }

  async listSeries(
    shard: number,
    limit: number,
    { name, after, before }: CatalogueSlice = {},
  ): Promise<CatalogueEntry[]> {
    const { statements } = this;
    const [query, params] =
      name !== undefined
        ? after === undefined
          ? [statements.listNamed, [shard, name, limit]]
          : [statements.listNamedAfter, [shard, name, after.metricId, limit]]
        : before !== undefined
          ? [statements.listSeriesBefore, [shard, after?.name ?? '', after?.metricId ?? '', before, limit]]
          : after === undefined
            ? [statements.listSeries, [shard, limit]]
            : [statements.listSeriesAfter, [shard, after.name, after.metricId, limit]];
    const entries: CatalogueEntry[] = [];
    await this.forEachRow('list series', query, params, (row) => entries.push(catalogueEntryOf(row)));
    return entries;
  }

  async rolledThrough(shard: number): Promise<number> {
    return (await this.readShard(shard)).nextSlot;
  }

  async slotDays(shard: number, slot: number): Promise<DirtyDay[]> {
    return this.queueRows(this.statements.slotDays, [shard, cassandra.types.Long.fromNumber(slot)]);
  }

  async queuedFor(shard: number, slots: readonly number[], metricIds: readonly string[]): Promise<DirtyDay[]> {
    return this.queueRows(this.statements.queuedFor, [
      shard,
      slots.map((s) => cassandra.types.Long.fromNumber(s)),
      metricIds,
    ]);
  }

  private async queueRows(query: string, params: unknown[]): Promise<DirtyDay[]> {
    const days: DirtyDay[] = [];
    await this.forEachRow('read roll queue', query, params, (row) => {
      days.push({
        metricId: row.get('metric_id') as string,
        day: row.get('day') as number,
        minutes: (row.get('minutes') as number[] | null) ?? [],
      });
    });
    return days;
  }

  async readChunks(metricIds: readonly string[], period: number, from: number, to: number): Promise<SeriesChunk[]> {
    return this.rows('read chunks', this.statements.readChunks, [metricIds, period, from, to], seriesChunkOf);
  }

  async readChunksAt(metricId: string, period: number, hours: readonly number[]): Promise<SealedChunk[]> {
    return this.rows('read chunks', this.statements.readChunksAt, [metricId, period, hours], sealedChunkOf);
  }

  async readChunkMarks(metricId: string, period: number, fromHour: number, toHour: number): Promise<ChunkMark[]> {
    return this.rows('read chunks', this.statements.readChunkMarks, [metricId, period, fromHour, toHour], chunkMarkOf);
  }

  async writeChunks(metricId: string, chunks: readonly SealedChunk[], asOfUs: number): Promise<void> {
    const now = this.clock();
    // One unlogged batch per chunk partition (single-partition batches are applied as one mutation), of bounded size.
    let batch: Array<{ query: string; params: unknown[] }> = [];
    let [period, bytes] = [NaN, 0];
    for (const { hour, bytes: chunk, plain } of [...chunks].sort((a, b) => a.hour - b.hour)) {
      if (batch.length > 0 && (chunkPeriod(hour) !== period || bytes + chunk.length > CHUNK_BATCH_BYTES)) {
        await this.batchOnce('write chunks', batch);
        [batch, bytes] = [[], 0];
      }
      [period, bytes] = [chunkPeriod(hour), bytes + chunk.length];
      const ttl = ttlSeconds((hour + 1) * MS_PER_HOUR, this.retention.raw, now);
      const blob = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      batch.push({
        query: this.statements.writeChunk,
        params: [metricId, period, hour, blob, plain ?? null, asOfUs, ttl],
      });
    }
    await this.batchOnce('write chunks', batch);
  }

  async readRollups(
    metricId: string,
    level: Level,
    period: number,
    fromMs: EpochMs,
    toMs: EpochMs,
  ): Promise<RollupRow[]> {
    return this.rows(
      'read rollups',
      this.statements.readRollups,
      [metricId, level.name, period, fromMs, toMs],
      rollupOf,
    );
  }

  /** Every row a read returns, each as `of` makes it. */
  private async rows<T>(
    what: string,
    query: string,
    params: unknown[],
    of: (row: cassandra.types.Row) => T,
  ): Promise<T[]> {
    const out: T[] = [];
    await this.forEachRow(what, query, params, (row) => out.push(of(row)));
    return out;
  }

  async scanPoints(
    metricId: string,
    partition: number,
    fromMs: EpochMs,
    toMs: EpochMs,
    visit: (ts: EpochMs, value: number) => void,
  ): Promise<number> {
    let count = 0;
    await this.forEachRow('scan points', this.statements.scanPoints, [metricId, partition, fromMs, toMs], (row) => {
      visit((row.get('ts') as Date).getTime(), row.get('value') as number);
      count++;
    });
    return count;
  }

  async writeRollups(
    metricId: string,
    level: Level,
    period: number,
    rows: readonly RollupRow[],
    asOfUs: number,
  ): Promise<void> {
    const now = this.clock();
    const retention = this.retention.levels[level.retainedAs];
    const queries = rows.map(({ start, aggregate }) => ({
      query: this.statements.writeRollup,
      params: [
        metricId,
        level.name,
        period,
        start,
        ...rollupParams(aggregate),
        asOfUs,
        ttlSeconds(start + level.ms, retention, now),
      ],
    }));
    await this.batchInChunks('write rollups', queries, ROLLUPS_PER_STATEMENT);
  }
}
