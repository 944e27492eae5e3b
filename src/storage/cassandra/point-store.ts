import cassandra from 'cassandra-driver';
import { EMPTY_AGGREGATE, partialOf, type PartialAggregate } from '../../domain/aggregate.js';
import type { EpochMs } from '../../time/units.js';
import { DAYS_PER_STATEMENT, type DayEntry, type PointWriter, type RangeReader, type StampedPoint, type Storage } from '../ports.js';
import { hasConnectedHost, type CassandraClient, type StatementConsistency } from './client.js';
import { classifyDriverError } from './errors.js';

/**
 * The aggregate in a row's n/total/low/high columns, as both the aggregate query and
 * the cached day summaries name them; undefined where n is null (no summary cached).
 */
function aggregateOf(row: cassandra.types.Row): PartialAggregate | undefined {
  const n = row.get('n') as cassandra.types.Long | null;
  if (n === null) return undefined;
  return partialOf(n.toNumber(), row.get('total') as number, row.get('low') as number, row.get('high') as number);
}

/** A metric_days row as a day entry: its summary only if written (as of its read) after the day's hold. */
function dayEntryOf(row: cassandra.types.Row): DayEntry {
  const heldUntil = row.get('held_until') as cassandra.types.Long | null;
  const heldUntilMs = heldUntil === null ? undefined : heldUntil.toNumber();
  const summary = aggregateOf(row);
  const summaryAtUs = row.get('summary_at') as cassandra.types.Long | null;
  const valid = summary !== undefined && summaryAtUs !== null && (heldUntilMs === undefined || summaryAtUs.toNumber() > heldUntilMs * 1000);
  return { day: row.get('day') as number, summary: valid ? summary : undefined, heldUntilMs };
}

/** Every statement meetr runs, keyspace-qualified; executed prepared. */
export function pointStatements(keyspace: string) {
  return {
    insertPoint: `INSERT INTO ${keyspace}.points (metric_id, day, ts, value) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
    markDay: `INSERT INTO ${keyspace}.metric_days (metric_id, day) VALUES (?, ?)`,
    selectDays:
      `SELECT day, n, total, low, high, writetime(n) AS summary_at, held_until ` +
      `FROM ${keyspace}.metric_days WHERE metric_id = ? AND day >= ? AND day <= ?`,
    saveSummary: `UPDATE ${keyspace}.metric_days USING TIMESTAMP ? SET n = ?, total = ?, low = ?, high = ? WHERE metric_id = ? AND day = ?`,
    holdSummary: `UPDATE ${keyspace}.metric_days USING TIMESTAMP ? SET held_until = ? WHERE metric_id = ? AND day = ?`,
    scanPoints: `SELECT ts, value FROM ${keyspace}.points WHERE metric_id = ? AND day = ? AND ts >= ? AND ts <= ?`,
    aggregateDay:
      `SELECT count(value) AS n, sum(value) AS total, min(value) AS low, max(value) AS high ` +
      `FROM ${keyspace}.points WHERE metric_id = ? AND day = ? AND ts >= ? AND ts <= ?`,
  } as const;
}

/**
 * Points in Cassandra. Writes go as unlogged batches of one partition each (never
 * across partitions); reads aggregate inside Cassandra, one partition per call.
 * Reads and writes each run at their own consistency level.
 */
export class CassandraPointStore implements PointWriter, RangeReader {
  private readonly statements: ReturnType<typeof pointStatements>;
  private readonly readOptions: { readonly consistency?: number };
  private readonly writeOptions: { readonly consistency?: number; readonly logged: false };

  constructor(
    private readonly client: CassandraClient,
    keyspace: string,
    consistency?: StatementConsistency,
  ) {
    this.statements = pointStatements(keyspace);
    this.readOptions = consistency === undefined ? {} : { consistency: consistency.read };
    this.writeOptions = consistency === undefined ? { logged: false } : { consistency: consistency.write, logged: false };
  }

  async markDays(metricId: string, days: readonly number[]): Promise<void> {
    const query = this.statements.markDay;
    if (days.length === 1) {
      await this.run('mark day', () => this.client.execute(query, [metricId, days[0]], this.writeOptions));
    } else {
      await this.batchInChunks('mark days', days.map((day) => ({ query, params: [metricId, day] })));
    }
  }

  async writePartition(metricId: string, day: number, points: readonly StampedPoint[]): Promise<void> {
    const query = this.statements.insertPoint;
    const [first] = points;
    if (points.length === 1 && first !== undefined) {
      await this.run('write point', () => this.client.execute(query, [metricId, day, first.ts, first.value, first.writeTimeUs], this.writeOptions));
    } else if (points.length > 1) {
      const queries = points.map((point) => ({ query, params: [metricId, day, point.ts, point.value, point.writeTimeUs] }));
      await this.run('write batch', () => this.client.batch(queries, this.writeOptions));
    }
  }

  async holdDaySummaries(metricId: string, days: readonly number[], untilMs: EpochMs): Promise<void> {
    const until = Math.ceil(untilMs);
    await this.batchInChunks('hold summaries', days.map((day) => ({ query: this.statements.holdSummary, params: [until * 1000, until, metricId, day] })));
  }

  async saveDaySummaries(metricId: string, summaries: ReadonlyArray<{ readonly day: number; readonly summary: PartialAggregate }>, asOfMs: EpochMs): Promise<void> {
    const queries = summaries.map(({ day, summary: { count, sum, compensation, min, max } }) => ({
      query: this.statements.saveSummary,
      params: count === 0 ? [asOfMs * 1000, 0, 0, 0, 0, metricId, day] : [asOfMs * 1000, count, sum + compensation, min, max, metricId, day],
    }));
    await this.batchInChunks('save summaries', queries);
  }

  async forEachDay(metricId: string, fromDay: number, toDay: number, visit: (entry: DayEntry) => void): Promise<void> {
    await this.forEachRow('read days', this.statements.selectDays, [metricId, fromDay, toDay], (row) => visit(dayEntryOf(row)));
  }

  async aggregateDay(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): Promise<PartialAggregate> {
    const result = await this.run('aggregate day', () => this.client.execute(this.statements.aggregateDay, [metricId, day, fromMs, toMs], this.readOptions));
    const row = result.first();
    return (row === null ? undefined : aggregateOf(row)) ?? EMPTY_AGGREGATE;
  }

  async scanPoints(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs, visit: (ts: EpochMs, value: number) => void): Promise<number> {
    let count = 0;
    await this.forEachRow('scan points', this.statements.scanPoints, [metricId, day, fromMs, toMs], (row) => {
      visit((row.get('ts') as Date).getTime(), row.get('value') as number);
      count++;
    });
    return count;
  }

  /** Runs a read page by page (5,000 rows each), calling `visit` per row; an exception from `visit` stops it. */
  private async forEachRow(operation: string, query: string, params: unknown[], visit: (row: cassandra.types.Row) => void): Promise<void> {
    let pageState: string | undefined;
    do {
      const result = await this.run(operation, () => this.client.execute(query, params, { ...this.readOptions, fetchSize: 5000, ...(pageState ? { pageState } : {}) }));
      for (const row of result.rows) visit(row);
      pageState = result.pageState ?? undefined;
    } while (pageState);
  }

  /**
   * Single-partition statements as unlogged batches of at most DAYS_PER_STATEMENT, one
   * after the other, so no batch nears a cluster's batch size limits (by default
   * Cassandra warns at 5 KiB and refuses at 50 KiB).
   */
  private async batchInChunks(operation: string, queries: ReadonlyArray<{ query: string; params: unknown[] }>): Promise<void> {
    for (let start = 0; start < queries.length; start += DAYS_PER_STATEMENT) {
      const chunk = queries.slice(start, start + DAYS_PER_STATEMENT);
      await this.run(operation, () => this.client.batch(chunk, this.writeOptions));
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

/** meetr's storage on Cassandra: the point store and the client's health, over one long-lived client. */
export function cassandraStorage(client: CassandraClient, keyspace: string, consistency?: StatementConsistency): Storage {
  const store = new CassandraPointStore(client, keyspace, consistency);
  return { writer: store, reader: store, health: { isReady: () => hasConnectedHost(client) } };
}
