/**
 * One queue of single-partition writes per process, with at most `concurrency`
 * in flight. While Cassandra is busy, writes for the same partition that wait in
 * the queue merge into one batch (up to `pointsPerWrite` points), so under load
 * there are fewer, larger statements; when Cassandra keeps up, a write goes out
 * at once and nothing waits for company. Every caller's promise settles only when
 * the write that carries its points does.
 */
import { settleAll } from '../concurrency.js';
import { partitionKey, type Point } from '../domain/point.js';
import type { PointWriter } from '../storage/ports.js';

export interface WriteQueueOptions {
  readonly writer: Pick<PointWriter, 'writePartition'>;
  /** Single-partition writes in flight at once, for the whole process. */
  readonly concurrency: number;
  /** Most points in one write (one unlogged batch). */
  readonly pointsPerWrite: number;
}

export interface WriteQueue {
  /** Writes points that share `metricId` and UTC day `day`; resolves once Cassandra acknowledged them. */
  write(metricId: string, day: number, points: readonly Point[]): Promise<void>;
  /** Writes queued and not yet sent. */
  readonly waiting: number;
}

interface PendingWrite {
  readonly metricId: string;
  readonly day: number;
  /** By timestamp: a later point for the same (metric, ts) replaces an earlier one, as a later write would. */
  readonly points: Map<number, Point>;
  readonly settle: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

export function createWriteQueue({ writer, concurrency, pointsPerWrite }: WriteQueueOptions): WriteQueue {
  const queue: PendingWrite[] = [];
  let head = 0;
  /** The queued write each partition still accepts points into. */
  const open = new Map<string, PendingWrite>();
  let inFlight = 0;

  const pump = (): void => {
    while (inFlight < concurrency && head < queue.length) {
      const pending = queue[head++]!;
      const key = partitionKey(pending.metricId, pending.day);
      if (open.get(key) === pending) open.delete(key);
      inFlight++;
      writer.writePartition(pending.metricId, pending.day, [...pending.points.values()]).then(
        () => {
          for (const { resolve } of pending.settle) resolve();
        },
        (error: unknown) => {
          for (const { reject } of pending.settle) reject(error);
        },
      ).finally(() => {
        inFlight--;
        pump();
      });
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };

  const enqueue = (metricId: string, day: number, points: readonly Point[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const key = partitionKey(metricId, day);
      let pending = open.get(key);
      if (pending === undefined || pending.points.size + points.length > pointsPerWrite) {
        pending = { metricId, day, points: new Map(), settle: [] };
        open.set(key, pending);
        queue.push(pending);
      }
      for (const point of points) {
        pending.points.delete(point.ts); // re-inserted last: Map order is the order points arrived in
        pending.points.set(point.ts, point);
      }
      pending.settle.push({ resolve, reject });
    });

  return {
    async write(metricId, day, points) {
      const writes: Array<Promise<void>> = [];
      for (let start = 0; start < points.length; start += pointsPerWrite) {
        writes.push(enqueue(metricId, day, points.slice(start, start + pointsPerWrite)));
      }
      pump();
      await settleAll(writes);
    },
    get waiting() {
      return queue.length - head;
    },
  };
}
