/**
 * The keyspace's own state beyond its schema: the roller's shard rows, and points
 * an earlier version of meetr stored in `points` ((metric_id, day), ts), copied
 * into `samples` with the write time each was stored under, their minutes queued
 * for the roller, so `./meetr up` on such a keyspace keeps every point and builds
 * its rollups.
 *
 * The copy runs twice. `startUpgrade` copies everything while the earlier
 * version's workers still serve; once the new workers replaced them,
 * `finishUpgrade` copies again whatever was written since the first copy began
 * (less a request's lifetime: a request that arrived before may have written
 * after). Write times are kept, so copies are idempotent and a point written
 * again through the new version always wins over the copy of an older write.
 */
import cassandra from 'cassandra-driver';
import { forEachBounded } from '../../concurrency.js';
import { MINUTES_PER_DAY, shardOf, SHARDS, slotOf } from '../../rollup/roll-queue.js';
import { seriesName } from '../../domain/series.js';
import { META_KEYS } from '../history-ports.js';
import { catalogueShardOf, POINTS_PER_WRITE, seriesChunks, type CatalogueEntry } from '../ports.js';
import { HOURS_PER_DAY, MS_PER_MINUTE, MS_PER_SECOND, type EpochMs } from '../../time/units.js';
import type { CassandraClient } from './client.js';
import { CassandraPointStore } from './point-store.js';
import { groupByPartition, inWritesOf } from '../../domain/partitions.js';
import { pagedRows } from './cql-session.js';

const COPY_STARTED = META_KEYS.legacyCopyStarted;
const COPIED = META_KEYS.legacyCopied;
/** Points copied at a time: a day partition of a busy metric is never held in memory whole. */
const COPY_CHUNK = 10_000;
/** The copy awaits each write: a slot this far ahead is over only once they are done, and is one every search reads. */
const COPY_HOLD_MS = 5 * MS_PER_SECOND;

/** Creates each shard's row of roll_shards once, starting at the current slot (no write can queue earlier). */
export async function initRollShards(client: CassandraClient, keyspace: string, nowMs: EpochMs): Promise<void> {
  for (let shard = 0; shard < SHARDS; shard++) {
    await client.execute(
      `INSERT INTO ${keyspace}.roll_shards (shard, owner, lease_until, next_slot) VALUES (?, '', 0, ?) IF NOT EXISTS`,
      [shard, cassandra.types.Long.fromNumber(slotOf(nowMs))],
      { prepare: true },
    );
  }
}

export interface CopyReport {
  readonly partitions: number;
  readonly points: number;
}

async function hasLegacyPoints(client: CassandraClient, keyspace: string): Promise<boolean> {
  const result = await client.execute(
    'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, 'points'],
    { prepare: true },
  );
  return result.rowLength > 0;
}

/**
 * Copies the points of `points` written at or after `sinceUs` (all when 0) into
 * samples and queues their minutes; returns what it copied.
 */
async function copyLegacy(
  client: CassandraClient,
  store: CassandraPointStore,
  keyspace: string,
  sinceUs: number,
  clock: () => EpochMs,
): Promise<CopyReport> {
  const partitions: Array<{ metricId: string; day: number }> = [];
  for await (const row of pagedRows(client, `SELECT DISTINCT metric_id, day FROM ${keyspace}.points`, [])) {
    partitions.push({ metricId: row.get('metric_id') as string, day: row.get('day') as number });
  }
  let points = 0;
  /**
   * Queues the rows' minutes, writes them, and queues them again: the first makes
   * searches read these minutes raw before any copied point lands, the second has
   * the roller roll them once all have (however long writing took).
   */
  const copy = async (
    metricId: string,
    day: number,
    rows: ReadonlyArray<{ ts: EpochMs; value: number; writeTimeUs: number }>,
  ): Promise<void> => {
    const minutes = [...new Set(rows.map(({ ts }) => Math.floor(ts / MS_PER_MINUTE) - day * MINUTES_PER_DAY))].sort(
      (a, b) => a - b,
    );
    const queue = (): Promise<void> =>
      store.markDirty(shardOf(metricId), slotOf(clock() + COPY_HOLD_MS), [{ metricId, day, minutes }]);
    await queue();
    const groups = await groupByPartition(rows.map((row) => ({ metricId, ...row })));
    for (const write of inWritesOf(groups, POINTS_PER_WRITE))
      await store.writePartition(write.metricId, write.partition, write.points);
    await queue();
    points += rows.length;
  };
  await forEachBounded(partitions, 8, async ({ metricId, day }) => {
    let rows: Array<{ ts: EpochMs; value: number; writeTimeUs: number }> = [];
    for await (const row of pagedRows(
      client,
      `SELECT ts, value, writetime(value) AS written FROM ${keyspace}.points WHERE metric_id = ? AND day = ?`,
      [metricId, day],
    )) {
      const writeTimeUs = (row.get('written') as cassandra.types.Long).toNumber();
      if (writeTimeUs >= sinceUs)
        rows.push({ ts: (row.get('ts') as Date).getTime(), value: row.get('value') as number, writeTimeUs });
      if (rows.length === COPY_CHUNK) {
        await copy(metricId, day, rows);
        rows = [];
      }
    }
    if (rows.length > 0) await copy(metricId, day, rows);
  });
  return { partitions: partitions.length, points };
}

/** The first copy, before the new workers start; undefined when there is nothing (left) to copy. */
export async function startUpgrade(
  client: CassandraClient,
  store: CassandraPointStore,
  keyspace: string,
  clock: () => EpochMs = Date.now,
): Promise<CopyReport | undefined> {
  if (!(await hasLegacyPoints(client, keyspace)) || (await store.readMeta(COPIED)) !== undefined) return undefined;
  const startedUs = Date.now() * 1000;
  const report = await copyLegacy(client, store, keyspace, 0, clock);
  await store.writeMeta(COPY_STARTED, String(startedUs));
  return report;
}

/**
 * The second copy, once the earlier version's workers are gone: what they wrote
 * since the first copy began, less `requestLifetimeMs`. Then the copy is recorded
 * as done and `points` is never read again.
 */
export async function finishUpgrade(
  client: CassandraClient,
  store: CassandraPointStore,
  keyspace: string,
  requestLifetimeMs: number,
  clock: () => EpochMs = Date.now,
): Promise<CopyReport | undefined> {
  if (!(await hasLegacyPoints(client, keyspace)) || (await store.readMeta(COPIED)) !== undefined) return undefined;
  const started = await store.readMeta(COPY_STARTED);
  if (started === undefined) return undefined;
  const report = await copyLegacy(client, store, keyspace, Number(started) - requestLifetimeMs * 1000, clock);
  await store.writeMeta(COPIED, new Date().toISOString());
  return report;
}

const CATALOGUED = 'series_catalogued';

/**
 * Lists in the series catalogue every metric an earlier version stored in samples
 * (it kept no catalogue), once, after the new workers replaced the old ones: from
 * then on the workers list what they write. Returns how many series, or undefined
 * when it was done before.
 */
export async function catalogueStoredSeries(
  client: CassandraClient,
  store: CassandraPointStore,
  keyspace: string,
): Promise<number | undefined> {
  if ((await store.readMeta(CATALOGUED)) !== undefined) return undefined;
  const spans = new Map<string, { firstDay: number; lastDay: number }>();
  for await (const row of pagedRows(client, `SELECT DISTINCT metric_id, hour FROM ${keyspace}.samples`, [])) {
    const metricId = row.get('metric_id') as string;
    const day = Math.floor((row.get('hour') as number) / HOURS_PER_DAY);
    const span = spans.get(metricId);
    if (span === undefined) spans.set(metricId, { firstDay: day, lastDay: day });
    else spans.set(metricId, { firstDay: Math.min(span.firstDay, day), lastDay: Math.max(span.lastDay, day) });
  }
  const byShard = new Map<number, CatalogueEntry[]>();
  for (const [metricId, span] of spans) {
    const name = seriesName(metricId);
    const shard = catalogueShardOf(name);
    byShard.set(shard, [...(byShard.get(shard) ?? []), { metricId, name, ...span }]);
  }
  for (const [shard, entries] of byShard) {
    for (const chunk of seriesChunks(entries)) await store.recordSeries(shard, chunk);
  }
  await store.writeMeta(CATALOGUED, new Date().toISOString());
  return spans.size;
}
