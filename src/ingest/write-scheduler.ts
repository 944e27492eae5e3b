/**
 * The one write scheduler of a worker: every statement an insert runs (roll
 * queue, points) waits here for one of `concurrency` slots, and slots go
 * round-robin over the requests that have statements waiting, one statement per
 * turn. A single point queued behind a 100,000-point batch is sent within one turn
 * of the ring, not after the batch.
 *
 * Admission is decided once per request, before any of its work starts: it is shed
 * at once (503) when the points admitted and not yet sent would pass
 * `maxQueuedPoints`, or when the requests already admitted would delay it by more
 * than `maxQueueDelayMs`. Under round-robin a request of k statements waits, for
 * each other request, for at most k of that request's statements; the delay is
 * that count times the measured time per statement over the concurrency.
 *
 * While Cassandra is busy, point writes waiting for the same partition merge into
 * one batch (up to `pointsPerWrite` points), each point keeping its own write time.
 * A write of a few points takes along the request's next writes, to other
 * partitions, in the same statement (up to `pointsPerWrite` points and WRITE_BYTES):
 * a batch over 100,000 series of one point each is about a thousand statements, not
 * 100,000, and still one statement per turn of the ring.
 * A request whose signal fires loses its statements not yet sent (they were never
 * acknowledged) and is rejected with the signal's reason at once.
 */
import type { Point } from '../domain/point.js';
import { OverloadedError } from '../errors.js';
import { partitionShareBytes, type PartitionShare, type PointWriter, type StampedPoint } from '../storage/ports.js';
import { partitionKey } from '../domain/partitions.js';
import { Ring, WaitingWrites, type Item, type Job } from './write-queues.js';
import { fitsBeside } from './write-plan.js';

export interface WriteSchedulerOptions {
  readonly writer: Pick<PointWriter, 'writePartition' | 'writePartitions'>;
  /** Statements in flight at once, for the whole worker. */
  readonly concurrency: number;
  /** Most points in one write (one unlogged batch). */
  readonly pointsPerWrite: number;
  readonly maxQueuedPoints: number;
  readonly maxQueueDelayMs: number;
  /** A monotonic clock in ms. */
  readonly now?: () => number;
}

/** What a request will run, told at admission. */
export interface WriteDemand {
  readonly statements: number;
  readonly points: number;
  readonly signal: AbortSignal;
}

/** An admitted request's handle on the scheduler. */
export interface WriteJob {
  /** Runs one statement when this request's turn comes. */
  run(statement: () => Promise<void>): Promise<void>;
  /** Writes points of one partition (one statement per `pointsPerWrite` of them), stored under `writeTimeUs`. */
  writePartition(metricId: string, partition: number, points: readonly Point[], writeTimeUs: number): Promise<void>;
  /** The request is done with the scheduler: what it reserved and did not use is released. */
  end(): void;
}

export interface WriteLoad {
  readonly activeRequests: number;
  readonly queuedPoints: number;
  readonly inFlight: number;
  /** Partitions with point writes waiting to be sent. */
  readonly waitingPartitions: number;
  /** Measured time from sending a statement to its answer, ms (moving average). */
  readonly statementMs: number;
}

export interface WriteScheduler {
  /** Admits a request or throws OverloadedError; nothing of a shed request has run. */
  admit(demand: WriteDemand): WriteJob;
  readonly load: WriteLoad;
}

/** What a statement is assumed to take before any was measured. */
const INITIAL_STATEMENT_MS = 2;
const LATENCY_WEIGHT = 0.05;

export function createWriteScheduler(options: WriteSchedulerOptions): WriteScheduler {
  return new RoundRobinScheduler(options);
}

class RoundRobinScheduler implements WriteScheduler {
  private readonly active = new Set<Job>();
  private readonly ring = new Ring();
  private readonly waitingWrites = new WaitingWrites();
  private readonly now: () => number;
  private queuedPoints = 0;
  private inFlight = 0;
  private statementMs = INITIAL_STATEMENT_MS;

  constructor(private readonly options: WriteSchedulerOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  get load(): WriteLoad {
    return {
      activeRequests: this.active.size,
      queuedPoints: this.queuedPoints,
      inFlight: this.inFlight,
      waitingPartitions: this.waitingWrites.partitions,
      statementMs: this.statementMs,
    };
  }

  admit({ statements, points, signal }: WriteDemand): WriteJob {
    if (signal.aborted) throw signal.reason;
    this.checkRoom(statements, points);
    const job: Job = {
      signal,
      items: [],
      head: 0,
      statements,
      points,
      inRing: false,
      ended: false,
      onAbort: () => this.drop(job),
    };
    this.active.add(job);
    this.queuedPoints += points;
    signal.addEventListener('abort', job.onAbort, { once: true });
    const { pointsPerWrite } = this.options;
    return {
      run: (statement) => this.enqueue(job, { statement }),
      writePartition: (metricId, partition, list, writeTimeUs) => {
        const key = partitionKey(metricId, partition);
        const writes: Array<Promise<void>> = [];
        for (let start = 0; start < list.length; start += pointsPerWrite) {
          const points = list.slice(start, start + pointsPerWrite);
          writes.push(this.enqueue(job, { write: { key, metricId, partition, points, writeTimeUs } }));
        }
        return Promise.all(writes).then(() => undefined);
      },
      end: () => this.finish(job),
    };
  }

  /** Sheds a request (OverloadedError) whose points would overfill the queue or whose wait would be too long. */
  private checkRoom(statements: number, points: number): void {
    const { maxQueuedPoints, maxQueueDelayMs } = this.options;
    if (this.queuedPoints > 0 && this.queuedPoints + points > maxQueuedPoints) {
      throw new OverloadedError(
        'write_queue_full',
        `the worker's write queue holds ${this.queuedPoints} points and takes at most ${maxQueuedPoints} (MEETR_MAX_QUEUED_POINTS); nothing was written; retry shortly`,
      );
    }
    const delayMs = this.delayFor(statements);
    if (delayMs > maxQueueDelayMs) {
      throw new OverloadedError(
        'write_queue_delay',
        `the worker's queued writes would delay this request about ${Math.round(delayMs)} ms, more than ${maxQueueDelayMs} ms (MEETR_MAX_QUEUE_DELAY_MS); nothing was written; retry shortly`,
      );
    }
  }

  /** How long the admitted requests would delay a new one of `statements` statements, ms. */
  private delayFor(statements: number): number {
    let ahead = 0;
    for (const job of this.active) ahead += Math.min(job.statements, statements);
    return (ahead * this.statementMs) / this.options.concurrency;
  }

  /** The request's signal fired: its items not yet sent are dropped and rejected with the reason. */
  private drop(job: Job): void {
    for (let i = job.head; i < job.items.length; i++) {
      const item = job.items[i]!;
      if (item.state !== 'waiting') continue;
      item.state = 'dropped';
      if (item.write !== undefined) this.waitingWrites.forget(item);
      item.reject(job.signal.reason);
    }
    this.finish(job);
  }

  private release(job: Job, statements: number, points: number): void {
    const [s, p] = [Math.min(statements, job.statements), Math.min(points, job.points)];
    job.statements -= s;
    job.points -= p;
    this.queuedPoints -= p;
  }

  private finish(job: Job): void {
    if (job.ended) return;
    job.ended = true;
    job.signal.removeEventListener('abort', job.onAbort);
    this.release(job, job.statements, job.points);
    this.active.delete(job);
  }

  private enqueue(job: Job, fields: Pick<Item, 'statement' | 'write'>): Promise<void> {
    if (job.signal.aborted) return Promise.reject(job.signal.reason);
    return new Promise<void>((resolve, reject) => {
      const item: Item = { job, state: 'waiting', resolve, reject, ...fields };
      job.items.push(item);
      if (item.write !== undefined) this.waitingWrites.add(item);
      this.ring.join(job);
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency) {
      const item = this.ring.next();
      if (item === undefined) return;
      this.send(item);
    }
  }

  private readonly markSent = (item: Item, points: number): void => {
    item.state = 'sent';
    this.release(item.job, 1, points);
  };

  /** Sends one statement, or one partition write with the writes that merge into it and the request's next small writes. */
  private send(item: Item): void {
    const started = this.now();
    let work: Promise<void>;
    const settled: Item[] = [];
    if (item.statement !== undefined) {
      this.markSent(item, 0);
      settled.push(item);
      work = item.statement();
    } else {
      const { pointsPerWrite, writer } = this.options;
      const shares = [this.share(item, pointsPerWrite, settled)];
      let points = shares[0]!.points.length;
      let bytes = partitionShareBytes(item.write!.metricId, points);
      for (let next = this.ring.peekWrite(item.job); next !== undefined; next = this.ring.peekWrite(item.job)) {
        const { metricId, points: more } = next.write!;
        if (!fitsBeside(points, bytes, metricId, more.length, pointsPerWrite)) break;
        item.job.head++;
        const share = this.share(next, pointsPerWrite - points, settled);
        shares.push(share);
        points += share.points.length;
        bytes += partitionShareBytes(metricId, share.points.length);
      }
      const [only] = shares;
      work =
        shares.length === 1 && only !== undefined
          ? writer.writePartition(only.metricId, only.partition, only.points)
          : writer.writePartitions(shares);
    }
    this.inFlight++;
    work
      .then(
        () => {
          for (const done of settled) done.resolve();
        },
        (error: unknown) => {
          for (const done of settled) done.reject(error);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.statementMs += (this.now() - started - this.statementMs) * LATENCY_WEIGHT;
        this.pump();
      });
  }

  /** `item`'s partition share: its points and those of the writes waiting for its partition that fit within `room`. */
  private share(item: Item, room: number, settled: Item[]): PartitionShare {
    const { metricId, partition } = item.write!;
    const taken = this.waitingWrites.take(item, room, this.markSent);
    settled.push(...taken);
    const points: StampedPoint[] = [];
    for (const { write } of taken) {
      const { writeTimeUs } = write!;
      // A literal, not a spread: this runs for every point written.
      for (const { metricId: id, ts, value } of write!.points) points.push({ metricId: id, ts, value, writeTimeUs });
    }
    return { metricId, partition, points };
  }
}
