import { forEachBounded, settleAll } from '../concurrency.js';
import { partitionKey, type Point } from '../domain/point.js';
import type { PointWriter } from '../storage/ports.js';
import { dayBucket, isClosedDay } from '../time/day-bucket.js';
import { createWriteQueue } from './write-queue.js';
import type { EpochMs } from '../time/units.js';

export interface IngestServiceOptions {
  readonly writer: PointWriter;
  /** Index and invalidation statements one request may have in flight. */
  readonly concurrency: number;
  /** Point writes in flight for the whole process (see write-queue.ts); 16 unless given. */
  readonly writeConcurrency?: number;
  /** Points per single-partition write (one unlogged batch). */
  readonly pointsPerWrite?: number;
  /** How many (metric, day) index entries this process remembers having written. */
  readonly knownDaysCapacity?: number;
  readonly clock?: () => EpochMs;
}

export interface IngestService {
  /** Stores validated points; resolves only once Cassandra acknowledged every one. Returns how many were received. */
  ingest(points: readonly Point[]): Promise<number>;
}

/** One partition's share of a request, in request order with later duplicates winning. */
export interface WriteUnit {
  readonly metricId: string;
  readonly day: number;
  readonly points: Point[];
}

export function createIngestService(options: IngestServiceOptions): IngestService {
  const { writer, concurrency, writeConcurrency = 16, pointsPerWrite = 100, knownDaysCapacity = 200_000, clock = Date.now } = options;
  const knownDays = new Set<string>();
  const queue = createWriteQueue({ writer, concurrency: writeConcurrency, pointsPerWrite });

  /** Deletes the summaries of `closed` days (by metric) as of now. */
  const invalidate = async (closed: ReadonlyMap<string, number[]>): Promise<void> => {
    const now = clock();
    await forEachBounded([...closed], concurrency, ([metricId, days]) => writer.invalidateDaySummaries(metricId, days, now));
  };

  return {
    async ingest(points) {
      const partitions = groupByPartition(points);

      // The day index first: a day listed with no points is harmless, a point on an unlisted day is invisible.
      const newDays = daysByMetric(partitions, (metricId, day) => !knownDays.has(partitionKey(metricId, day)));
      if (newDays.size > 0) {
        await forEachBounded([...newDays], concurrency, ([metricId, days]) => writer.markDays(metricId, days));
        if (knownDays.size > knownDaysCapacity) knownDays.clear();
        for (const [metricId, days] of newDays) for (const day of days) knownDays.add(partitionKey(metricId, day));
      }

      // Writes to closed days (late data, backfills) hide those days' cached summaries: before the write,
      // and again once it is acknowledged, so a summary computed from a read that missed it is shadowed too.
      // Live data (open days) skips both.
      const now = clock();
      const closed = daysByMetric(partitions, (_, day) => isClosedDay(day, now));
      if (closed.size > 0) await invalidate(closed);
      await settleAll(partitions.map((unit) => queue.write(unit.metricId, unit.day, unit.points)));
      if (closed.size > 0) await invalidate(closed);
      return points.length;
    },
  };
}

/** The days of `partitions` that pass `include`, by metric. */
function daysByMetric(partitions: readonly WriteUnit[], include: (metricId: string, day: number) => boolean): Map<string, number[]> {
  const byMetric = new Map<string, number[]>();
  for (const { metricId, day } of partitions) {
    if (!include(metricId, day)) continue;
    const days = byMetric.get(metricId);
    if (days === undefined) byMetric.set(metricId, [day]);
    else days.push(day);
  }
  return byMetric;
}

/** Groups points by (metric, UTC day); a later point with the same (metric, ts) replaces an earlier one. */
export function groupByPartition(points: readonly Point[]): WriteUnit[] {
  const partitions = new Map<string, { unit: WriteUnit; byTs: Map<number, number> }>();
  for (const point of points) {
    const day = dayBucket(point.ts);
    const key = partitionKey(point.metricId, day);
    let entry = partitions.get(key);
    if (entry === undefined) {
      entry = { unit: { metricId: point.metricId, day, points: [] }, byTs: new Map() };
      partitions.set(key, entry);
    }
    const earlier = entry.byTs.get(point.ts);
    if (earlier === undefined) {
      entry.byTs.set(point.ts, entry.unit.points.length);
      entry.unit.points.push(point);
    } else {
      entry.unit.points[earlier] = point;
    }
  }
  return [...partitions.values()].map((entry) => entry.unit);
}

