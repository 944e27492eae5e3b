import cassandra from 'cassandra-driver';
import type { PartialAggregate } from '../../domain/aggregate.js';
import { ExactSum } from '../../domain/exact-sum.js';
import type { SpecialValue } from '../../domain/point.js';
import type { Level } from '../../rollup/levels.js';
import { QUEUE_TTL_SECONDS } from '../../rollup/roll-queue.js';
import { NO_RETENTION, ttlSeconds, type Retention } from '../../rollup/retention.js';
import { MS_PER_DAY, type EpochMs } from '../../time/units.js';
import {
  DIRTY_DAYS_PER_STATEMENT,
  SERIES_PER_STATEMENT,
  type CatalogueEntry,
  type CatalogueKey,
  type SeriesReader,
  type DirtyDay,
  type PointWriter,
  type RangeReader,
  type RollupRow,
  type RollupStore,
  type ShardState,
  type StampedPoint,
  type Storage,
} from '../ports.js';
import { cassandraNowMs, hasConnectedHost, type CassandraClient, type StatementConsistency } from './client.js';
import { classifyDriverError } from './errors.js';
import { readDiskSettings } from './disk-settings.js';

const ROLLUP_COLUMNS = 'start, n, sum_mantissa, sum_exponent, low, high, first_ts, first, last_ts, last';

/** Every statement meetr runs, keyspace-qualified; executed prepared. */
export function pointStatements(keyspace: string) {
  return {
    insertPoint: `INSERT INTO ${keyspace}.samples (metric_id, hour, ts, value) VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
    scanPoints: `SELECT ts, value FROM ${keyspace}.samples WHERE metric_id = ? AND hour = ? AND ts >= ? AND ts < ?`,
    markDirty: `UPDATE ${keyspace}.roll_queue USING TTL ${QUEUE_TTL_SECONDS} SET minutes = minutes + ? WHERE shard = ? AND slot = ? AND metric_id = ? AND day = ?`,
    dirtyDays: `SELECT day, minutes FROM ${keyspace}.roll_queue WHERE shard = ? AND slot = ? AND metric_id = ? AND day >= ? AND day <= ?`,
    slotDays: `SELECT metric_id, day, minutes FROM ${keyspace}.roll_queue WHERE shard = ? AND slot = ?`,
    readRollups: `SELECT ${ROLLUP_COLUMNS} FROM ${keyspace}.rollups WHERE metric_id = ? AND level = ? AND period = ? AND start >= ? AND start < ?`,
    writeRollup:
      `INSERT INTO ${keyspace}.rollups (metric_id, level, period, ${ROLLUP_COLUMNS}) ` +
      `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
    readShard: `SELECT owner, lease_until, next_slot FROM ${keyspace}.roll_shards WHERE shard = ?`,
    takeShard: `UPDATE ${keyspace}.roll_shards SET owner = ?, lease_until = ? WHERE shard = ? IF owner = ? AND lease_until = ?`,
    keepShard: `UPDATE ${keyspace}.roll_shards SET lease_until = ?, next_slot = ? WHERE shard = ? IF owner = ?`,
    announceRoller: `INSERT INTO ${keyspace}.meta (key, value) VALUES (?, ?) USING TTL ?`,
    readMeta: `SELECT key, value FROM ${keyspace}.meta`,
    insertSpecialSample: `INSERT INTO ${keyspace}.special_samples (metric_id, day, ts, value, stale) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
    specialSamples: `SELECT ts, value, stale FROM ${keyspace}.special_samples WHERE metric_id = ? AND day = ? AND ts >= ? AND ts < ?`,
    seriesFirstDay: `UPDATE ${keyspace}.series USING TIMESTAMP ? AND TTL ? SET first_day = ? WHERE shard = ? AND name = ? AND metric_id = ?`,
    seriesLastDay: `UPDATE ${keyspace}.series USING TIMESTAMP ? AND TTL ? SET last_day = ? WHERE shard = ? AND name = ? AND metric_id = ?`,
    listSeries: `SELECT name, metric_id, first_day, last_day FROM ${keyspace}.series WHERE shard = ? LIMIT ?`,
    listSeriesAfter: `SELECT name, metric_id, first_day, last_day FROM ${keyspace}.series WHERE shard = ? AND (name, metric_id) > (?, ?) LIMIT ?`,
    listNamed: `SELECT name, metric_id, first_day, last_day FROM ${keyspace}.series WHERE shard = ? AND name = ? LIMIT ?`,
    listNamedAfter: `SELECT name, metric_id, first_day, last_day FROM ${keyspace}.series WHERE shard = ? AND name = ? AND metric_id > ? LIMIT ?`,
  } as const;
}

/** A rollups row as the rollup it stores. */
function rollupOf(row: cassandra.types.Row): RollupRow {
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

function rollupParams(aggregate: PartialAggregate): unknown[] {
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
const SPAN_BASE_US = 2 ** 50;
const lastDayWriteTime = (day: number): cassandra.types.Long => cassandra.types.Long.fromNumber(SPAN_BASE_US + day);
const firstDayWriteTime = (day: number): cassandra.types.Long => cassandra.types.Long.fromNumber(SPAN_BASE_US - day);

function catalogueEntryOf(row: cassandra.types.Row): CatalogueEntry {
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
const ROLLER_KEY = 'roller/';

/** Rows per rollup batch: about 100 bytes each, so a batch stays near Cassandra's 5 KiB warning. */
const ROLLUPS_PER_STATEMENT = 50;

/**
 * Points, rollups and the roll queue in Cassandra. Writes go as unlogged batches
 * of one partition each (never across partitions). Reads and writes each run at
 * their own consistency level; the roller's leases are lightweight transactions.
 */
export class CassandraPointStore implements PointWriter, RangeReader, RollupStore, SeriesReader {
  private readonly statements: ReturnType<typeof pointStatements>;
  private readonly readOptions: { readonly consistency?: number };
  private readonly writeOptions: { readonly consistency?: number; readonly logged: false };

  constructor(
    private readonly client: CassandraClient,
    keyspace: string,
    consistency?: StatementConsistency,
    private readonly retention: Retention = NO_RETENTION,
    private readonly clock: () => EpochMs = Date.now,
  ) {
    this.statements = pointStatements(keyspace);
    this.readOptions = consistency === undefined ? {} : { consistency: consistency.read };
    this.writeOptions =
      consistency === undefined ? { logged: false } : { consistency: consistency.write, logged: false };
  }

  async writePartition(metricId: string, partition: number, points: readonly StampedPoint[]): Promise<void> {
    const query = this.statements.insertPoint;
    const now = this.clock();
    const params = (point: StampedPoint): unknown[] => [
      metricId,
      partition,
      point.ts,
      point.value,
      point.writeTimeUs,
      ttlSeconds(point.ts, this.retention.raw, now),
    ];
    const [first] = points;
    if (points.length === 1 && first !== undefined) {
      await this.run('write point', () => this.client.execute(query, params(first), this.writeOptions));
    } else if (points.length > 1) {
      await this.run('write batch', () =>
        this.client.batch(
          points.map((point) => ({ query, params: params(point) })),
          this.writeOptions,
        ),
      );
    }
  }

  async markDirty(shard: number, slot: number, days: readonly DirtyDay[]): Promise<void> {
    const queries = days.map(({ metricId, day, minutes }) => ({
      query: this.statements.markDirty,
      params: [minutes, shard, cassandra.types.Long.fromNumber(slot), metricId, day],
    }));
    await this.batchInChunks('queue rollups', queries, DIRTY_DAYS_PER_STATEMENT);
  }

  async recordSeries(shard: number, entries: readonly CatalogueEntry[]): Promise<void> {
    const now = this.clock();
    const retention = this.retention.levels['1d'];
    const queries = entries.flatMap(({ metricId, name, firstDay, lastDay }) => [
      {
        query: this.statements.seriesFirstDay,
        params: [
          firstDayWriteTime(firstDay),
          ttlSeconds((firstDay + 1) * MS_PER_DAY, retention, now),
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
          ttlSeconds((lastDay + 1) * MS_PER_DAY, retention, now),
          lastDay,
          shard,
          name,
          metricId,
        ],
      },
    ]);
    await this.batchInChunks('record series', queries, 2 * SERIES_PER_STATEMENT);
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
      params: [metricId, day, ts, value, stale, writeTimeUs, ttlSeconds(ts, this.retention.raw, now)],
    }));
    await this.batchInChunks('write special samples', queries, 100);
  }

  async specialSamples(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): Promise<SpecialValue[]> {
    const samples: SpecialValue[] = [];
    await this.forEachRow(
      'read special samples',
      this.statements.specialSamples,
      [metricId, day, fromMs, toMs],
      (row) => {
        samples.push({
          ts: (row.get('ts') as Date).getTime(),
          value: row.get('value') as number,
          stale: row.get('stale') === true,
        });
      },
    );
    return samples;
  }

  async listSeries(shard: number, limit: number, name?: string, after?: CatalogueKey): Promise<CatalogueEntry[]> {
    const { statements } = this;
    const [query, params] =
      name === undefined
        ? after === undefined
          ? [statements.listSeries, [shard, limit]]
          : [statements.listSeriesAfter, [shard, after.name, after.metricId, limit]]
        : after === undefined
          ? [statements.listNamed, [shard, name, limit]]
          : [statements.listNamedAfter, [shard, name, after.metricId, limit]];
    const entries: CatalogueEntry[] = [];
    await this.forEachRow('list series', query, params, (row) => entries.push(catalogueEntryOf(row)));
    return entries;
  }

  async rolledThrough(shard: number): Promise<number> {
    return (await this.readShard(shard)).nextSlot;
  }

  async dirtyDays(
    shard: number,
    slot: number,
    metricId: string,
    fromDay: number,
    toDay: number,
  ): Promise<Array<{ day: number; minutes: number[] }>> {
    const days: Array<{ day: number; minutes: number[] }> = [];
    await this.forEachRow(
      'read roll queue',
      this.statements.dirtyDays,
      [shard, cassandra.types.Long.fromNumber(slot), metricId, fromDay, toDay],
      (row) => {
        days.push({ day: row.get('day') as number, minutes: (row.get('minutes') as number[] | null) ?? [] });
      },
    );
    return days;
  }

  async slotDays(shard: number, slot: number): Promise<DirtyDay[]> {
    const days: DirtyDay[] = [];
    await this.forEachRow(
      'read roll queue',
      this.statements.slotDays,
      [shard, cassandra.types.Long.fromNumber(slot)],
      (row) => {
        days.push({
          metricId: row.get('metric_id') as string,
          day: row.get('day') as number,
          minutes: (row.get('minutes') as number[] | null) ?? [],
        });
      },
    );
    return days;
  }

  async readRollups(
    metricId: string,
    level: Level,
    period: number,
    fromMs: EpochMs,
    toMs: EpochMs,
  ): Promise<RollupRow[]> {
    const rows: RollupRow[] = [];
    await this.forEachRow(
      'read rollups',
      this.statements.readRollups,
      [metricId, level.name, period, fromMs, toMs],
      (row) => rows.push(rollupOf(row)),
    );
    return rows;
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
    const retention = this.retention.levels[level.name];
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

  async readShard(shard: number): Promise<ShardState> {
    const result = await this.run('read roller shard', () =>
      this.client.execute(this.statements.readShard, [shard], this.readOptions),
    );
    const row = result.first();
    if (row === null)
      throw new Error(`roll_shards has no row for shard ${shard}: run the migrate command (./meetr up does)`);
    return {
      owner: row.get('owner') as string,
      leaseUntilMs: (row.get('lease_until') as cassandra.types.Long).toNumber(),
      nextSlot: (row.get('next_slot') as cassandra.types.Long).toNumber(),
    };
  }

  async takeShard(shard: number, seen: ShardState, owner: string, untilMs: EpochMs): Promise<boolean> {
    const params = [
      owner,
      cassandra.types.Long.fromNumber(untilMs),
      shard,
      seen.owner,
      cassandra.types.Long.fromNumber(seen.leaseUntilMs),
    ];
    return this.applied('take roller shard', this.statements.takeShard, params);
  }

  async keepShard(shard: number, owner: string, untilMs: EpochMs, nextSlot: number): Promise<boolean> {
    const params = [cassandra.types.Long.fromNumber(untilMs), cassandra.types.Long.fromNumber(nextSlot), shard, owner];
    return this.applied('keep roller shard', this.statements.keepShard, params);
  }

  async serverTimeMs(): Promise<EpochMs> {
    return this.run('read Cassandra clock', () => cassandraNowMs(this.client));
  }

  async announceRoller(owner: string, ttlSeconds: number): Promise<void> {
    await this.run('announce roller', () =>
      this.client.execute(
        this.statements.announceRoller,
        [`${ROLLER_KEY}${owner}`, new Date(this.clock()).toISOString(), ttlSeconds],
        this.writeOptions,
      ),
    );
  }

  async liveRollers(): Promise<string[]> {
    const owners: string[] = [];
    // meta is a handful of rows: the rollers alive and a few facts about the keyspace.
    await this.forEachRow('read rollers', this.statements.readMeta, [], (row) => {
      const key = row.get('key') as string;
      if (key.startsWith(ROLLER_KEY)) owners.push(key.slice(ROLLER_KEY.length));
    });
    return owners;
  }

  private async applied(operation: string, query: string, params: unknown[]): Promise<boolean> {
    // Lightweight transactions at SERIAL for the read phase; the write phase at the write level.
    // Not idempotent: after a timeout, whether it applied is unknown, and a retry could answer "not applied" to an update that was.
    const result = await this.run(operation, () =>
      this.client.execute(query, params, { ...this.writeOptions, isIdempotent: false }),
    );
    return result.first()?.get('[applied]') === true;
  }

  /** Runs a read page by page, calling `visit` per row; an exception from `visit` stops it. */
  private async forEachRow(
    operation: string,
    query: string,
    params: unknown[],
    visit: (row: cassandra.types.Row) => void,
  ): Promise<void> {
    try {
      for await (const row of pagedRows(this.client, query, params, this.readOptions)) visit(row);
    } catch (error) {
      throw classifyDriverError(error, operation);
    }
  }

  /**
   * Single-partition statements as unlogged batches of at most `size`, one after
   * the other, so no batch nears a cluster's batch size limits (by default
   * Cassandra warns at 5 KiB and refuses at 50 KiB).
   */
  private async batchInChunks(
    operation: string,
    queries: ReadonlyArray<{ query: string; params: unknown[] }>,
    size: number,
  ): Promise<void> {
    for (let start = 0; start < queries.length; start += size) {
      const chunk = queries.slice(start, start + size);
      if (chunk.length === 1)
        await this.run(operation, () => this.client.execute(chunk[0]!.query, chunk[0]!.params, this.writeOptions));
      else await this.run(operation, () => this.client.batch(chunk, this.writeOptions));
    }
  }

  private async run<T>(operation: string, statement: () => Promise<T>): Promise<T> {
    try {
      return await statement();
    } catch (error) {
      throw classifyDriverError(error, operation);
    }
  }
}

/** The rows of a read, fetched page by page (5,000 rows each): never all of them in memory. */
export async function* pagedRows(
  client: CassandraClient,
  query: string,
  params: unknown[],
  options: { readonly consistency?: number } = {},
): AsyncGenerator<cassandra.types.Row> {
  let pageState: string | undefined;
  do {
    const result = await client.execute(query, params, {
      ...options,
      prepare: true,
      fetchSize: 5000,
      ...(pageState ? { pageState } : {}),
    });
    yield* result.rows;
    pageState = result.pageState ?? undefined;
  } while (pageState);
}

/** meetr's storage on Cassandra: the point store and the client's health, over one long-lived client. */
export function cassandraStorage(
  client: CassandraClient,
  keyspace: string,
  consistency?: StatementConsistency,
  retention?: Retention,
): Storage {
  const store = new CassandraPointStore(client, keyspace, consistency, retention);
  return {
    writer: store,
    reader: store,
    series: store,
    health: {
      isReady: () => hasConnectedHost(client),
      serverTimeMs: () => store.serverTimeMs(),
      diskSettings: () => readDiskSettings(client),
    },
  };
}
