/**
 * The write scheduler's two queues: the ring of requests with statements waiting,
 * served one statement per turn, and the point writes waiting per partition, which
 * a write to that partition carries along while they fit in one batch.
 */
import type { Point } from '../domain/point.js';

/** One statement or one partition write of a request, until it is sent or dropped. */
export interface Item {
  readonly job: Job;
  state: 'waiting' | 'sent' | 'dropped';
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly statement?: () => Promise<void>;
  readonly write?: {
    readonly key: string;
    readonly metricId: string;
    readonly partition: number;
    readonly points: readonly Point[];
    readonly writeTimeUs: number;
  };
}

/** An admitted request. */
export interface Job {
  readonly signal: AbortSignal;
  readonly items: Item[];
  head: number;
  /** Statements and points admitted and not yet sent (or released). */
  statements: number;
  points: number;
  inRing: boolean;
  ended: boolean;
  readonly onAbort: () => void;
}

/** Requests with statements waiting, served in turn: each turn takes one statement of the next request. */
export class Ring {
  private readonly jobs: Job[] = [];
  private cursor = 0;

  /** Adds `job` to the ring unless it is in it. */
  join(job: Job): void {
    if (job.inRing) return;
    job.inRing = true;
    this.jobs.push(job);
  }

  /** `job`'s next waiting item when it is a point write, left in place (the caller takes it by moving `job.head` past it). */
  peekWrite(job: Job): Item | undefined {
    while (job.head < job.items.length && job.items[job.head]!.state !== 'waiting') job.head++;
    const item = job.items[job.head];
    return item?.write === undefined ? undefined : item;
  }

  /** The next request's next waiting item; a request with none left leaves the ring. */
  next(): Item | undefined {
    while (this.jobs.length > 0) {
      if (this.cursor >= this.jobs.length) this.cursor = 0;
      const job = this.jobs[this.cursor]!;
      while (job.head < job.items.length && job.items[job.head]!.state !== 'waiting') job.head++;
      if (job.head === job.items.length) {
        job.items.length = 0;
        job.head = 0;
        job.inRing = false;
        this.jobs.splice(this.cursor, 1);
        continue;
      }
      this.cursor++;
      return job.items[job.head++];
    }
    return undefined;
  }
}

/** Point writes not yet sent, by partition: what a write to that partition can carry along. */
export class WaitingWrites {
  private readonly byPartition = new Map<string, Item[]>();

  get partitions(): number {
    return this.byPartition.size;
  }

  add(item: Item): void {
    const key = item.write!.key;
    const list = this.byPartition.get(key);
    if (list === undefined) this.byPartition.set(key, [item]);
    else list.push(item);
  }

  /**
   * `item` and the writes waiting for the same partition that fit beside it within
   * `pointsPerWrite` points; `markSent` is called for each taken, with its points.
   */
  take(item: Item, pointsPerWrite: number, markSent: (item: Item, points: number) => void): Item[] {
    const key = item.write!.key;
    const taken = [item];
    let size = item.write!.points.length;
    markSent(item, size);
    const left: Item[] = [];
    for (const other of this.byPartition.get(key) ?? []) {
      if (other.state !== 'waiting') continue;
      const n = other.write!.points.length;
      if (size + n <= pointsPerWrite) {
        markSent(other, n);
        taken.push(other);
        size += n;
      } else {
        left.push(other);
      }
    }
    this.keep(key, left);
    return taken;
  }

  /** Takes a dropped write out of its partition's list, which no later write to that partition may ever clear. */
  forget(item: Item): void {
    const key = item.write!.key;
    this.keep(key, this.byPartition.get(key)?.filter((other) => other !== item) ?? []);
  }

  private keep(key: string, left: Item[]): void {
    if (left.length === 0) this.byPartition.delete(key);
    else this.byPartition.set(key, left);
  }
}
