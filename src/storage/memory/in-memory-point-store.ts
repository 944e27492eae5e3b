/**
 * The storage ports over plain Maps in this process: for unit tests of the HTTP
 * edge and the services, never for anything about storage itself. It keeps the
 * same rules as the Cassandra store: upserts by (metric, ts), and cached day
 * summaries that a delete with a later-or-equal timestamp hides (a delete wins a
 * tie, as in Cassandra).
 */
import { EMPTY_AGGREGATE, partialOf, type PartialAggregate } from '../../domain/aggregate.js';
import { partitionKey, type Point } from '../../domain/point.js';
import { StorageUnavailableError } from '../../errors.js';
import type { EpochMs } from '../../time/units.js';
import type { DayEntry, PointWriter, RangeReader, Storage, StorageHealth } from '../ports.js';

interface DayRecord {
  summary: PartialAggregate | undefined;
  /** Write time (ms) of the last summary save or delete. */
  summaryAt: EpochMs;
}

export class InMemoryPointStore implements PointWriter, RangeReader, StorageHealth {
  /** (metric, day) -> ts -> value. */
  private readonly partitions = new Map<string, Map<EpochMs, number>>();
  /** metric -> day -> index entry with its summary. */
  private readonly days = new Map<string, Map<number, DayRecord>>();
  /** While true every call fails as Cassandra does when it is down, and isReady() is false. */
  unavailable = false;
  /** Statements run, by kind: what a test can assert a plan against. */
  readonly calls = { markDays: 0, writePartition: 0, invalidate: 0, daysWithPoints: 0, aggregateDay: 0, scanPoints: 0, saveSummaries: 0 };

  /** This store as the services' Storage. */
  asStorage(): Storage {
    return { writer: this, reader: this, health: this };
  }

  isReady(): boolean {
    return !this.unavailable;
  }

  async markDays(metricId: string, days: readonly number[]): Promise<void> {
    this.check('mark days');
    this.calls.markDays++;
    const index = this.daysOf(metricId);
    for (const day of days) if (!index.has(day)) index.set(day, { summary: undefined, summaryAt: -Infinity });
  }

  async writePartition(metricId: string, day: number, points: readonly Point[]): Promise<void> {
    this.check('write batch');
    this.calls.writePartition++;
    const key = partitionKey(metricId, day);
    let partition = this.partitions.get(key);
    if (partition === undefined) this.partitions.set(key, (partition = new Map()));
    for (const point of points) partition.set(point.ts, point.value);
  }

  async invalidateDaySummaries(metricId: string, days: readonly number[], atMs: EpochMs): Promise<void> {
    this.check('invalidate summaries');
    this.calls.invalidate++;
    const index = this.daysOf(metricId);
    for (const day of days) {
      const record = index.get(day) ?? { summary: undefined, summaryAt: -Infinity };
      if (atMs >= record.summaryAt) index.set(day, { summary: undefined, summaryAt: atMs });
    }
  }

  async daysWithPoints(metricId: string, fromDay: number, toDay: number): Promise<DayEntry[]> {
    this.check('read days');
    this.calls.daysWithPoints++;
    return [...this.daysOf(metricId)]
      .filter(([day]) => day >= fromDay && day <= toDay)
      .sort(([a], [b]) => a - b)
      .map(([day, record]) => ({ day, summary: record.summary }));
  }

  async aggregateDay(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): Promise<PartialAggregate> {
    this.check('aggregate day');
    this.calls.aggregateDay++;
    let [count, sum, min, max] = [0, 0, Infinity, -Infinity];
    for (const [ts, value] of this.partitions.get(partitionKey(metricId, day)) ?? []) {
      if (ts < fromMs || ts > toMs) continue;
      count++;
      sum += value;
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    return count === 0 ? EMPTY_AGGREGATE : partialOf(count, sum, min, max);
  }

  async scanPoints(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs, visit: (ts: EpochMs, value: number) => void): Promise<number> {
    this.check('scan points');
    this.calls.scanPoints++;
    const inRange = [...(this.partitions.get(partitionKey(metricId, day)) ?? [])].filter(([ts]) => ts >= fromMs && ts <= toMs).sort(([a], [b]) => a - b);
    for (const [ts, value] of inRange) visit(ts, value);
    return inRange.length;
  }

  async saveDaySummaries(metricId: string, summaries: ReadonlyArray<{ readonly day: number; readonly summary: PartialAggregate }>, asOfMs: EpochMs): Promise<void> {
    this.check('save summaries');
    this.calls.saveSummaries++;
    const index = this.daysOf(metricId);
    for (const { day, summary } of summaries) {
      const record = index.get(day) ?? { summary: undefined, summaryAt: -Infinity };
      if (asOfMs > record.summaryAt) index.set(day, { summary, summaryAt: asOfMs });
    }
  }

  private daysOf(metricId: string): Map<number, DayRecord> {
    let index = this.days.get(metricId);
    if (index === undefined) this.days.set(metricId, (index = new Map()));
    return index;
  }

  private check(operation: string): void {
    if (this.unavailable) throw new StorageUnavailableError(`storage is unavailable (${operation})`);
  }
}
