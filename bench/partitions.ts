import { groupByPartition, inWritesOf, type PartitionGroup } from '../src/domain/partitions.js';
import type { Point } from '../src/domain/point.js';

/** One single-partition write for the storage adapter: points of one metric and raw partition (UTC hour). */
export type PartitionWrite = PartitionGroup<Point>;

/** Points as single-partition writes of at most `size` points each, the way a tuned direct writer sends them. */
export async function partitionWrites(points: readonly Point[], size: number): Promise<PartitionWrite[]> {
  return inWritesOf(await groupByPartition(points), size);
}
