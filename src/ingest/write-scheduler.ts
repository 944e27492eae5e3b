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
 * A request whose signal fires loses its statements not yet sent (they were never
 * acknowledged) and is rejected with the signal's reason at once.
 */
import { type Point } from '../domain/point.js';
import { OverloadedError } from '../errors.js';
import type { PointWriter, StampedPoint } from '../storage/ports.js';
import { partitionKey } from '../domain/partitions.js';

export interface WriteSchedulerOptions {
  readonly writer: Pick<PointWriter, 'writePartition'>;
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

interface Item {
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

interface Job {
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

/** What a statement is assumed to take before any was measured. */
const INITIAL_STATEMENT_MS = 2;
const LATENCY_WEIGHT = 0.05;

export function createWriteScheduler(options: WriteSchedulerOptions): WriteScheduler {
  const {
    writer,
    concurrency,
    pointsPerWrite,
    maxQueuedPoints,
    maxQueueDelayMs,
    now = () => performance.now(),
  } = options;
  const active = new Set<Job>();
  /** Jobs with statements waiting, served in turn from `cursor`. */
  const ring: Job[] = [];
  let cursor = 0;
  /** Point writes not yet sent, by partition: what a write to that partition can carry along. */
  const waitingWrites = new Map<string, Item[]>();
  let queuedPoints = 0;
  let inFlight = 0;
  let statementMs = INITIAL_STATEMENT_MS;

  const release = (job: Job, statements: number, points: number): void => {
    const [s, p] = [Math.min(statements, job.statements), Math.min(points, job.points)];
    job.statements -= s;
    job.points -= p;
    queuedPoints -= p;
  };

  const finish = (job: Job): void => {
    if (job.ended) return;
    job.ended = true;
    job.signal.removeEventListener('abort', job.onAbort);
    release(job, job.statements, job.points);
    active.delete(job);
  };

  const nextItem = (): Item | undefined => {
    while (ring.length > 0) {
      if (cursor >= ring.length) cursor = 0;
      const job = ring[cursor]!;
      while (job.head < job.items.length && job.items[job.head]!.state !== 'waiting') job.head++;
      if (job.head === job.items.length) {
        job.items.length = 0;
        job.head = 0;
        job.inRing = false;
        ring.splice(cursor, 1);
        continue;
      }
      cursor++;
      return job.items[job.head++];
    }
    return undefined;
  };

  const markSent = (item: Item, points: number): void => {
    item.state = 'sent';
    release(item.job, 1, points);
  };

  const measure = (started: number): void => {
    statementMs += (now() - started - statementMs) * LATENCY_WEIGHT;
  };

  const send = (item: Item): void => {
    const started = now();
    let work: Promise<void>;
    let settled: Item[];
    if (item.statement !== undefined) {
      markSent(item, 0);
      settled = [item];
      work = item.statement();
    } else {
      const { key, metricId, partition } = item.write!;
      settled = takeWrites(item, key);
      const points: StampedPoint[] = [];
      for (const { write } of settled)
        for (const point of write!.points) points.push({ ...point, writeTimeUs: write!.writeTimeUs });
      work = writer.writePartition(metricId, partition, points);
    }
    inFlight++;
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
        inFlight--;
        measure(started);
        pump();
      });
  };

  /** `item` and the writes waiting for the same partition that fit beside it. */
  const takeWrites = (item: Item, key: string): Item[] => {
    const taken = [item];
    let size = item.write!.points.length;
    markSent(item, size);
    const waiting = waitingWrites.get(key) ?? [];
    const left: Item[] = [];
    for (const other of waiting) {
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
    if (left.length === 0) waitingWrites.delete(key);
    else waitingWrites.set(key, left);
    return taken;
  };

  /** Takes a dropped write out of its partition's waiting list, which no later write to that partition may ever clear. */
  const forgetWrite = (key: string, item: Item): void => {
    const left = waitingWrites.get(key)?.filter((other) => other !== item) ?? [];
    if (left.length === 0) waitingWrites.delete(key);
    else waitingWrites.set(key, left);
  };

  const pump = (): void => {
    while (inFlight < concurrency) {
      const item = nextItem();
      if (item === undefined) return;
      send(item);
    }
  };

  const enqueue = (job: Job, fields: Pick<Item, 'statement' | 'write'>): Promise<void> => {
    if (job.signal.aborted) return Promise.reject(job.signal.reason);
    return new Promise<void>((resolve, reject) => {
      const item: Item = { job, state: 'waiting', resolve, reject, ...fields };
      job.items.push(item);
      if (item.write !== undefined) {
        const list = waitingWrites.get(item.write.key);
        if (list === undefined) waitingWrites.set(item.write.key, [item]);
        else list.push(item);
      }
      if (!job.inRing) {
        job.inRing = true;
        ring.push(job);
      }
      pump();
    });
  };

  /** How long the admitted requests would delay a new one of `statements` statements, ms. */
  const delayFor = (statements: number): number => {
    let ahead = 0;
    for (const job of active) ahead += Math.min(job.statements, statements);
    return (ahead * statementMs) / concurrency;
  };

  return {
    admit({ statements, points, signal }) {
      if (signal.aborted) throw signal.reason;
      if (queuedPoints > 0 && queuedPoints + points > maxQueuedPoints) {
        throw new OverloadedError(
          'write_queue_full',
          `the worker's write queue holds ${queuedPoints} points and takes at most ${maxQueuedPoints} (MEETR_MAX_QUEUED_POINTS); nothing was written; retry shortly`,
        );
      }
      const delayMs = delayFor(statements);
      if (delayMs > maxQueueDelayMs) {
        throw new OverloadedError(
          'write_queue_delay',
          `the worker's queued writes would delay this request about ${Math.round(delayMs)} ms, more than ${maxQueueDelayMs} ms (MEETR_MAX_QUEUE_DELAY_MS); nothing was written; retry shortly`,
        );
      }
      const job: Job = {
        signal,
        items: [],
        head: 0,
        statements,
        points,
        inRing: false,
        ended: false,
        onAbort: () => {
          for (let i = job.head; i < job.items.length; i++) {
            const item = job.items[i]!;
            if (item.state !== 'waiting') continue;
            item.state = 'dropped';
            if (item.write !== undefined) forgetWrite(item.write.key, item);
            item.reject(signal.reason);
          }
          finish(job);
        },
      };
      active.add(job);
      queuedPoints += points;
      signal.addEventListener('abort', job.onAbort, { once: true });
      return {
        run: (statement) => enqueue(job, { statement }),
        writePartition(metricId, partition, list, writeTimeUs) {
          const key = partitionKey(metricId, partition);
          const writes: Array<Promise<void>> = [];
          for (let start = 0; start < list.length; start += pointsPerWrite) {
            writes.push(
              enqueue(job, {
                write: { key, metricId, partition, points: list.slice(start, start + pointsPerWrite), writeTimeUs },
              }),
            );
          }
          return Promise.all(writes).then(() => undefined);
        },
        end: () => finish(job),
      };
    },
    get load() {
      return {
        activeRequests: active.size,
        queuedPoints,
        inFlight,
        waitingPartitions: waitingWrites.size,
        statementMs,
      };
    },
  };
}
