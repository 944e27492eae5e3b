import { partitionKey, type Point } from '../src/domain/point.js';
import { dayBucket } from '../src/time/day-bucket.js';

/** One single-partition write for the storage adapter: points of one metric and UTC day (DESIGN.md §2). */
export interface PartitionWrite {
  readonly metricId: string;
  readonly day: number;
  readonly points: Point[];
}

/** Points as single-partition writes of at most `size` points each, the way a tuned direct writer sends them. */
export function partitionWrites(points: readonly Point[], size: number): PartitionWrite[] {
  const byPartition = new Map<string, PartitionWrite>();
  for (const point of points) {
    const day = dayBucket(point.ts);
    const key = partitionKey(point.metricId, day);
    let write = byPartition.get(key);
    if (write === undefined) byPartition.set(key, (write = { metricId: point.metricId, day, points: [] }));
    write.points.push(point);
  }
  const writes: PartitionWrite[] = [];
  for (const { metricId, day, points: all } of byPartition.values()) {
    for (let start = 0; start < all.length; start += size) writes.push({ metricId, day, points: all.slice(start, start + size) });
  }
  return writes;
}
