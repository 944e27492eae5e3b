/**
 * Raw points and special samples in this process's memory (see
 * in-memory-point-store.ts), under Cassandra's rules: of two writes of one sample
 * the later write time wins (on a tie the greater value), and a drop as of a time
 * deletes what was written until then and shadows any later write older than it,
 * as a tombstone does.
 */
import { type SpecialValue } from '../../domain/point.js';
import { partitionKey, partitionOfKey } from '../../domain/partitions.js';
import { groupOf } from '../../domain/groups.js';
import { dayBucket } from '../../time/day-bucket.js';
import { MS_PER_HOUR, type EpochMs } from '../../time/units.js';
import type { SampleHour } from '../history-ports.js';
import type { StampedPoint } from '../ports.js';

interface Stored {
  readonly value: number;
  readonly writeTimeUs: number;
  /** Written with no TTL: before raw rows expired, or while they were kept forever. */
  readonly forever: boolean;
}

/** What a drop of an hour deleted: samples of [fromMs, toMs) written as of asOfUs or earlier. */
interface Drop {
  readonly fromMs: EpochMs;
  readonly toMs: EpochMs;
  readonly asOfUs: number;
}

export class InMemoryRaw {
  /** (metric, raw partition) -> ts -> point. */
  private readonly partitions = new Map<string, Map<EpochMs, Stored>>();
  /** (metric, day) -> ts -> special sample and its write time. */
  private readonly special = new Map<string, Map<EpochMs, { sample: SpecialValue; writeTimeUs: number }>>();
  /** (metric, day) -> the drops of its hours. */
  private readonly drops = new Map<string, Drop[]>();
  /** For tests: false writes rows as an earlier version did, with no TTL (HistoryStore.keptForever). */
  rowsExpire = true;

  store(metricId: string, partition: number, points: readonly StampedPoint[]): void {
    const stored = groupOf(this.partitions, partitionKey(metricId, partition), () => new Map<EpochMs, Stored>());
    for (const { ts, value, writeTimeUs } of points) {
      if (this.dropped(metricId, ts, writeTimeUs)) continue;
      const earlier = stored.get(ts);
      const wins =
        earlier === undefined ||
        writeTimeUs > earlier.writeTimeUs ||
        (writeTimeUs === earlier.writeTimeUs && value > earlier.value);
      if (wins) stored.set(ts, { value, writeTimeUs, forever: !this.rowsExpire });
    }
  }

  storeSpecial(metricId: string, day: number, samples: readonly SpecialValue[], writeTimeUs: number): void {
    const stored = groupOf(this.special, partitionKey(metricId, day), () => new Map());
    for (const sample of samples)
      if (!this.dropped(metricId, sample.ts, writeTimeUs)) stored.set(sample.ts, { sample, writeTimeUs });
  }

  /** The points of a raw partition with fromMs <= ts < toMs, ascending. */
  points(metricId: string, partition: number, fromMs: EpochMs, toMs: EpochMs): Array<[EpochMs, number]> {
    return [...(this.partitions.get(partitionKey(metricId, partition)) ?? [])]
      .filter(([ts]) => ts >= fromMs && ts < toMs)
      .sort(([a], [b]) => a - b)
      .map(([ts, { value }]) => [ts, value]);
  }

  specialSamples(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): SpecialValue[] {
    return [...(this.special.get(partitionKey(metricId, day))?.values() ?? [])]
      .map(({ sample }) => sample)
      .filter(({ ts }) => ts >= fromMs && ts < toMs)
      .sort((a, b) => a.ts - b.ts);
  }

  /** Every (metric, hour) partition with a point. */
  hours(): SampleHour[] {
    return [...this.partitions].filter(([, points]) => points.size > 0).map(([key]) => partitionOfKey(key));
  }

  /** Whether the hour's first point (by ts) was written with no TTL. */
  keptForever(metricId: string, hour: number): boolean {
    const [first] = this.points(metricId, hour, -Infinity, Infinity);
    return first !== undefined && this.partitions.get(partitionKey(metricId, hour))!.get(first[0])!.forever;
  }

  drop(metricId: string, hour: number, asOfUs: number): void {
    const fromMs = hour * MS_PER_HOUR;
    const day = partitionKey(metricId, dayBucket(fromMs));
    groupOf(this.drops, day, () => [] as Drop[]).push({ fromMs, toMs: fromMs + MS_PER_HOUR, asOfUs });
    const points = this.partitions.get(partitionKey(metricId, hour));
    for (const [ts, { writeTimeUs }] of points ?? []) if (writeTimeUs <= asOfUs) points!.delete(ts);
    const special = this.special.get(day);
    for (const [ts, { writeTimeUs }] of special ?? [])
      if (ts >= fromMs && ts < fromMs + MS_PER_HOUR && writeTimeUs <= asOfUs) special!.delete(ts);
  }

  /** For tests: drops every raw point and special sample, as MEETR_RAW_KEEP's TTL does. */
  expire(): void {
    this.partitions.clear();
    this.special.clear();
  }

  /** Whether a drop shadows a write of `ts` at `writeTimeUs`. */
  private dropped(metricId: string, ts: EpochMs, writeTimeUs: number): boolean {
    const drops = this.drops.get(partitionKey(metricId, dayBucket(ts))) ?? [];
    return drops.some((d) => ts >= d.fromMs && ts < d.toMs && writeTimeUs <= d.asOfUs);
  }
}
