import { partitionKey, type Point } from '../src/domain/point.js';
import { samplePartition } from '../src/rollup/roll-queue.js';

/** One single-partition write for the storage adapter: points of one metric and raw partition (UTC hour). */
export interface PartitionWrite {
  readonly metricId: string;
  readonly partition: number;
  readonly points: Point[];
}

/** Points as single-partition writes of at most `size` points each, the way a tuned direct writer sends them. */
export function partitionWrites(points: readonly Point[], size: number): PartitionWrite[] {
  const byPartition = new Map<string, PartitionWrite>();
  for (const point of points) {
    const partition = samplePartition(point.ts);
    const key = partitionKey(point.metricId, partition);
    let write = byPartition.get(key);
    if (write === undefined) byPartition.set(key, (write = { metricId: point.metricId, partition, points: [] }));
    write.points.push(point);
  }
  const writes: PartitionWrite[] = [];
  for (const { metricId, partition, points: all } of byPartition.values()) {
    for (let start = 0; start < all.length; start += size)
      writes.push({ metricId, partition, points: all.slice(start, start + size) });
  }
  return writes;
}
