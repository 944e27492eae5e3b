/**
 * The storage ports over plain Maps in this process: for unit tests of the HTTP
 * edge and the services, never for anything about storage itself. It keeps the
 * same rules as the Cassandra store: upserts by (metric, ts) where the later
 * write time wins (on a tie the greater value, as in Cassandra), cached day summaries
 * where the latest as-of time wins, and holds where the latest time wins and which
 * hide every summary dated at or before them.
 */
import { EMPTY_AGGREGATE, partialOf, type PartialAggregate } from '../../domain/aggregate.js';
import { partitionKey } from '../../domain/point.js';
import { StorageUnavailableError } from '../../errors.js';
import type { EpochMs } from '../../time/units.js';
import type { DayEntry, PointWriter, RangeReader, StampedPoint, Storage, StorageHealth } from '../ports.js';

interface DayRecord {
  summary: PartialAggregate | undefined;
  /** As-of time (ms) of the summary saved last. */
  summaryAt: EpochMs;
  heldUntil: EpochMs | undefined;
}

export class InMemoryPointStore implements PointWriter, RangeReader, StorageHealth {
  /** (metric, day) -> ts -> value and its write time. */
  private readonly partitions = new Map<string, Map<EpochMs, { value: number; writeTimeUs: number }>>();
  /** metric -> day -> index entry with its summary. */
  private readonly days = new Map<string, Map<number, DayRecord>>();
  /** While true every call fails as Cassandra does when it is down, and isReady() is false. */
  unavailable = false;
  /** Statements run, by kind: what a test can assert a plan against. */
  readonly calls = { markDays: 0, writePartition: 0, hold: 0, readDays: 0, aggregateDay: 0, scanPoints: 0, saveSummaries: 0 };

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
    for (const day of days) this.recordOf(index, day);
  }

  async writePartition(metricId: string, day: number, points: readonly StampedPoint[]): Promise<void> {
    this.check('write batch');
    this.calls.writePartition++;
    const key = partitionKey(metricId, day);
    let partition = this.partitions.get(key);
    if (partition === undefined) this.partitions.set(key, (partition = new Map()));
    for (const { ts, value, writeTimeUs } of points) {
      const stored = partition.get(ts);
      const wins = stored === undefined || writeTimeUs > stored.writeTimeUs || (writeTimeUs === stored.writeTimeUs && value > stored.value);
      if (wins) partition.set(ts, { value, writeTimeUs });
    }
  }

  async holdDaySummaries(metricId: string, days: readonly number[], untilMs: EpochMs): Promise<void> {
    this.check('hold summaries');
    this.calls.hold++;
    const index = this.daysOf(metricId);
    for (const day of days) {
      const record = this.recordOf(index, day);
      record.heldUntil = Math.max(record.heldUntil ?? -Infinity, untilMs);
    }
  }

  async forEachDay(metricId: string, fromDay: number, toDay: number, visit: (entry: DayEntry) => void): Promise<void> {
    this.check('read days');
    this.calls.readDays++;
    const entries = [...this.daysOf(metricId)].filter(([day]) => day >= fromDay && day <= toDay).sort(([a], [b]) => a - b);
    for (const [day, { summary, summaryAt, heldUntil }] of entries) {
      const valid = summary !== undefined && (heldUntil === undefined || summaryAt > heldUntil);
      visit({ day, summary: valid ? summary : undefined, heldUntilMs: heldUntil });
    }
  }

  async aggregateDay(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): Promise<PartialAggregate> {
    this.check('aggregate day');
    this.calls.aggregateDay++;
    let [count, sum, min, max] = [0, 0, Infinity, -Infinity];
    for (const [ts, { value }] of this.partitions.get(partitionKey(metricId, day)) ?? []) {
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
    for (const [ts, { value }] of inRange) visit(ts, value);
    return inRange.length;
  }

  async saveDaySummaries(metricId: string, summaries: ReadonlyArray<{ readonly day: number; readonly summary: PartialAggregate }>, asOfMs: EpochMs): Promise<void> {
    this.check('save summaries');
    this.calls.saveSummaries++;
    const index = this.daysOf(metricId);
    for (const { day, summary } of summaries) {
      const record = this.recordOf(index, day);
      if (asOfMs > record.summaryAt) Object.assign(record, { summary, summaryAt: asOfMs });
    }
  }

  private recordOf(index: Map<number, DayRecord>, day: number): DayRecord {
    let record = index.get(day);
    if (record === undefined) index.set(day, (record = { summary: undefined, summaryAt: -Infinity, heldUntil: undefined }));
    return record;
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
