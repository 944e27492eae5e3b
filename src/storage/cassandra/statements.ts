/**
 * The CQL of the point store: every statement, keyspace-qualified and run prepared,
 * and the conversions between rows and the ports' values.
 */
import cassandra from 'cassandra-driver';
import type { PartialAggregate } from '../../domain/aggregate.js';
import { ExactSum } from '../../domain/exact-sum.js';
import { QUEUE_TTL_SECONDS } from '../../rollup/roll-queue.js';
import type { CatalogueEntry, ChunkMark, RollupRow, SealedChunk, SeriesChunk } from '../ports.js';

export const ROLLUP_COLUMNS = 'start, n, sum_mantissa, sum_exponent, low, high, first_ts, first, last_ts, last';

/** Every statement meetr runs, keyspace-qualified; executed prepared. */
export function pointStatements(keyspace: string) {
  return {
    insertPoint: `INSERT INTO ${keyspace}.samples (metric_id, hour, ts, value) VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
    scanPoints: `SELECT ts, value FROM ${keyspace}.samples WHERE metric_id = ? AND hour = ? AND ts >= ? AND ts < ?`,
    markDirty: `UPDATE ${keyspace}.roll_queue USING TTL ${QUEUE_TTL_SECONDS} SET minutes = minutes + ? WHERE shard = ? AND slot = ? AND metric_id = ? AND day = ?`,
    slotDays: `SELECT metric_id, day, minutes FROM ${keyspace}.roll_queue WHERE shard = ? AND slot = ?`,
    queuedFor: `SELECT metric_id, day, minutes FROM ${keyspace}.roll_queue WHERE shard = ? AND slot IN ? AND metric_id IN ?`,
    readChunks: `SELECT metric_id, hour, chunk FROM ${keyspace}.chunks WHERE metric_id IN ? AND period = ? AND hour >= ? AND hour < ?`,
    readChunksAt: `SELECT hour, chunk FROM ${keyspace}.chunks WHERE metric_id = ? AND period = ? AND hour IN ?`,
    readChunkMarks: `SELECT hour, plain FROM ${keyspace}.chunks WHERE metric_id = ? AND period = ? AND hour >= ? AND hour < ?`,
    writeChunk: `INSERT INTO ${keyspace}.chunks (metric_id, period, hour, chunk, plain) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
    readRollups: `SELECT ${ROLLUP_COLUMNS} FROM ${keyspace}.rollups WHERE metric_id = ? AND level = ? AND period = ? AND start >= ? AND start < ?`,
    writeRollup:
      `INSERT INTO ${keyspace}.rollups (metric_id, level, period, ${ROLLUP_COLUMNS}) ` +
      `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
    readShard: `SELECT owner, lease_until, next_slot FROM ${keyspace}.roll_shards WHERE shard = ?`,
    takeShard: `UPDATE ${keyspace}.roll_shards SET owner = ?, lease_until = ? WHERE shard = ? IF owner = ? AND lease_until = ?`,
    keepShard: `UPDATE ${keyspace}.roll_shards SET lease_until = ?, next_slot = ? WHERE shard = ? IF owner = ?`,
    announceRoller: `INSERT INTO ${keyspace}.meta (key, value) VALUES (?, ?) USING TTL ?`,
    withdrawRoller: `DELETE FROM ${keyspace}.meta WHERE key = ?`,
    readMeta: `SELECT key, value FROM ${keyspace}.meta`,
    readMetaKey: `SELECT value FROM ${keyspace}.meta WHERE key = ?`,
    writeMeta: `INSERT INTO ${keyspace}.meta (key, value) VALUES (?, ?)`,
    takeLargeWrite: `INSERT INTO ${keyspace}.meta (key, value) VALUES ('${LARGE_WRITE_KEY}', ?) IF NOT EXISTS USING TTL ?`,
    releaseLargeWrite: `DELETE FROM ${keyspace}.meta WHERE key = '${LARGE_WRITE_KEY}' IF value = ?`,
    sampleHours: `SELECT DISTINCT metric_id, hour FROM ${keyspace}.samples`,
    keptForever: `SELECT TTL(value) AS ttl FROM ${keyspace}.samples WHERE metric_id = ? AND hour = ? LIMIT 1`,
    chunkSealedAt: `SELECT WRITETIME(chunk) AS sealed_at FROM ${keyspace}.chunks WHERE metric_id = ? AND period = ? AND hour = ?`,
    dropSampleHour: `DELETE FROM ${keyspace}.samples USING TIMESTAMP ? WHERE metric_id = ? AND hour = ?`,
    dropSpecialHour: `DELETE FROM ${keyspace}.special_samples USING TIMESTAMP ? WHERE metric_id = ? AND day = ? AND ts >= ? AND ts < ?`,
    insertSpecialSample: `INSERT INTO ${keyspace}.special_samples (metric_id, day, ts, value, stale) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
    specialSamples: `SELECT ts, value, stale FROM ${keyspace}.special_samples WHERE metric_id = ? AND day = ? AND ts >= ? AND ts < ?`,
    seriesFirstDay: `UPDATE ${keyspace}.series USING TIMESTAMP ? AND TTL ? SET first_day = ? WHERE shard = ? AND name = ? AND metric_id = ?`,
    seriesLastDay: `UPDATE ${keyspace}.series USING TIMESTAMP ? AND TTL ? SET last_day = ? WHERE shard = ? AND name = ? AND metric_id = ?`,
    listSeries: `SELECT name, metric_id, first_day, last_day FROM ${keyspace}.series WHERE shard = ? LIMIT ?`,
    listSeriesAfter: `SELECT name, metric_id, first_day, last_day FROM ${keyspace}.series WHERE shard = ? AND (name, metric_id) > (?, ?) LIMIT ?`,
    listSeriesBefore: `SELECT name, metric_id, first_day, last_day FROM ${keyspace}.series WHERE shard = ? AND (name, metric_id) > (?, ?) AND name < ? LIMIT ?`,
    listNamed: `SELECT name, metric_id, first_day, last_day FROM ${keyspace}.series WHERE shard = ? AND name = ? LIMIT ?`,
    listNamedAfter: `SELECT name, metric_id, first_day, last_day FROM ${keyspace}.series WHERE shard = ? AND name = ? AND metric_id > ? LIMIT ?`,
  } as const;
}

/** A rollups row as the rollup it stores. */
export function rollupOf(row: cassandra.types.Row): RollupRow {
  const firstTs = row.get('first_ts') as Date;
  const lastTs = row.get('last_ts') as Date;
  return {
    start: (row.get('start') as Date).getTime(),
    aggregate: {
      count: (row.get('n') as cassandra.types.Long).toNumber(),
      sum: ExactSum.fromParts(row.get('sum_mantissa') as bigint, row.get('sum_exponent') as number),
      min: row.get('low') as number,
      max: row.get('high') as number,
      first: { ts: firstTs.getTime(), value: row.get('first') as number },
      last: { ts: lastTs.getTime(), value: row.get('last') as number },
    },
  };
}

export function rollupParams(aggregate: PartialAggregate): unknown[] {
  const { count, sum, min, max, first, last } = aggregate;
  if (first === undefined || last === undefined)
    throw new Error('a rollup needs the first and last points of its bucket');
  return [
    cassandra.types.Long.fromNumber(count),
    sum.mantissa,
    sum.exponent,
    min,
    max,
    first.ts,
    first.value,
    last.ts,
    last.value,
  ];
}

/**
 * The write times of a catalogue entry's day span: of two writes of last_day the
 * later day wins, of first_day the earlier (see cql/005_series.cql). Both lie
 * around 2005, under any real write time.
 */
export const SPAN_BASE_US = 2 ** 50;
export const lastDayWriteTime = (day: number): cassandra.types.Long =>
  cassandra.types.Long.fromNumber(SPAN_BASE_US + day);
export const firstDayWriteTime = (day: number): cassandra.types.Long =>
  cassandra.types.Long.fromNumber(SPAN_BASE_US - day);

/** A row of the chunks table as a sealed chunk. */
export function sealedChunkOf(row: cassandra.types.Row): SealedChunk {
  return { hour: row.get('hour') as number, bytes: row.get('chunk') as Buffer };
}

/** A row of the chunks table, with its series. */
export function seriesChunkOf(row: cassandra.types.Row): SeriesChunk {
  return { metricId: row.get('metric_id') as string, ...sealedChunkOf(row) };
}

/** A row of the chunks table as a chunk's mark. */
export function chunkMarkOf(row: cassandra.types.Row): ChunkMark {
  const plain = row.get('plain') as boolean | null;
  return { hour: row.get('hour') as number, ...(plain !== null && { plain }) };
}

export function catalogueEntryOf(row: cassandra.types.Row): CatalogueEntry {
  const firstDay = row.get('first_day') as number | null;
  const lastDay = row.get('last_day') as number | null;
  // A span cell past its retention has expired: the series' points then reach further than it says.
  return {
    name: row.get('name') as string,
    metricId: row.get('metric_id') as string,
    firstDay: firstDay ?? Number.MIN_SAFE_INTEGER,
    lastDay: lastDay ?? Number.MAX_SAFE_INTEGER,
  };
}

/** meta rows that say a roller is alive: the prefix, then its name. */
export const ROLLER_KEY = 'roller/';

/** The meta row of the large-write lease (ports.ts LargeWriteLease): its holder, until its TTL ends. */
export const LARGE_WRITE_KEY = 'large_write';

/** Rows per rollup batch: about 100 bytes each, so a batch stays near Cassandra's 5 KiB warning. */
export const ROLLUPS_PER_STATEMENT = 50;

/**
 * Chunk bytes per batch of one series' chunks: single-partition batches are exempt
 * from Cassandra's batch size thresholds (CASSANDRA-10876), and this keeps one far
 * from its frame and mutation limits (a day of a 15 s scrape is about 10 KiB).
 */
export const CHUNK_BATCH_BYTES = 256 * 1024;
