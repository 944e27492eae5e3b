/**
 * Raw partitions: the one place that says which partition a point is stored in and
 * groups points by it (ingest, the upgrade copy and the bench's direct writer), and
 * which partition holds an hour's sealed chunk.
 */
import { PAUSE_EVERY } from '../concurrency.js';
import { MS_PER_HOUR, type EpochMs } from '../time/units.js';

/** Raw points are partitioned by metric and UTC hour: at most 3,600,000 rows (one per millisecond) whatever the rate. */
export function samplePartition(ts: EpochMs): number {
  return Math.floor(ts / MS_PER_HOUR);
}

/** Sealed chunks (cql/007_chunks.cql) are partitioned by metric and this many hours: 32 days. */
export const HOURS_PER_CHUNK_PERIOD = 768;

/** The chunk partition of a raw partition (an hour). */
export function chunkPeriod(hour: number): number {
  return Math.floor(hour / HOURS_PER_CHUNK_PERIOD);
}

/** A (metric, partition number) pair as one map key. */
export function partitionKey(metricId: string, partition: number): string {
  return `${partition}\u0000${metricId}`;
}

/** The metric and partition a partitionKey names. */
export function partitionOfKey(key: string): { metricId: string; hour: number } {
  const split = key.indexOf('\u0000');
  return { metricId: key.slice(split + 1), hour: Number(key.slice(0, split)) };
}

/** One raw partition's share of some points, in their order. */
export interface PartitionGroup<P> {
  readonly metricId: string;
  readonly partition: number;
  readonly points: P[];
}

/**
 * Groups points by raw partition (metric, UTC hour), in the order they come; a later
 * point with the same (metric, ts) replaces an earlier one in its place.
 */
export async function groupByPartition<P extends { readonly metricId: string; readonly ts: EpochMs }>(
  points: readonly P[],
  pause?: () => Promise<unknown>,
): Promise<PartitionGroup<P>[]> {
  const partitions = new Map<string, { group: PartitionGroup<P>; byTs: Map<number, number> }>();
  for (let i = 0; i < points.length; i++) {
    if (pause !== undefined && i % PAUSE_EVERY === 0) await pause();
    const point = points[i]!;
    const partition = samplePartition(point.ts);
    const key = partitionKey(point.metricId, partition);
    let entry = partitions.get(key);
    if (entry === undefined) {
      entry = { group: { metricId: point.metricId, partition, points: [] }, byTs: new Map() };
      partitions.set(key, entry);
    }
    const earlier = entry.byTs.get(point.ts);
    if (earlier === undefined) {
      entry.byTs.set(point.ts, entry.group.points.length);
      entry.group.points.push(point);
    } else {
      entry.group.points[earlier] = point;
    }
  }
  return [...partitions.values()].map((entry) => entry.group);
}

/** Each group split into groups of at most `size` points, for one write each. */
export function inWritesOf<P>(groups: readonly PartitionGroup<P>[], size: number): PartitionGroup<P>[] {
  return groups.flatMap(({ metricId, partition, points }) =>
    Array.from({ length: Math.ceil(points.length / size) }, (_, i) => ({
      metricId,
      partition,
      points: points.slice(i * size, (i + 1) * size),
    })),
  );
}
