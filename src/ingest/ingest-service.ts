import { settleAll } from '../concurrency.js';
import { partitionKey, type Point } from '../domain/point.js';
import { DAYS_PER_STATEMENT, type PointWriter } from '../storage/ports.js';
import { dayBucket, isClosedDay } from '../time/day-bucket.js';
import { MS_PER_HOUR, type EpochMs } from '../time/units.js';
import { untilAborted, type WorkScope } from '../work-scope.js';
import type { WriteJob, WriteScheduler } from './write-scheduler.js';

export interface IngestServiceOptions {
  readonly writer: PointWriter;
  /** Every statement goes through it (see write-scheduler.ts). */
  readonly scheduler: WriteScheduler;
  /** Points per single-partition write (one unlogged batch); the scheduler's. */
  readonly pointsPerWrite: number;
  /**
   * How long after a request's deadline a write it sent may still land (the storage
   * timeout, plus clock margin): holds on summaries last that long past the deadline.
   */
  readonly landingMarginMs: number;
  /** How many (metric, day) index entries this process remembers having written. */
  readonly knownDaysCapacity?: number;
  readonly clock?: () => EpochMs;
}

/** One request's insert: when it arrived (its points' write time) and what bounds it. */
export interface IngestRequest extends WorkScope {
  /** Microseconds since the epoch when the request arrived: the write time of its points. */
  readonly writeTimeUs: number;
}

export interface IngestService {
  /**
   * Stores validated points; resolves only once Cassandra acknowledged every one.
   * Returns how many were received. Throws OverloadedError before doing anything
   * when the worker is too busy, and the scope's reason once it fires.
   */
  ingest(points: readonly Point[], request: IngestRequest): Promise<number>;
}

/** One partition's share of a request, in request order with later duplicates winning. */
export interface WriteUnit {
  readonly metricId: string;
  readonly day: number;
  readonly points: Point[];
}

/**
 * After a write to a closed day failed (its fate unknown), its day's summaries stay
 * held this long: Cassandra may still deliver it to other replicas as a hint, for
 * up to its max_hint_window (3 hours by default).
 */
export const UNCERTAIN_WRITE_HOLD_MS = 3 * MS_PER_HOUR;

export function createIngestService(options: IngestServiceOptions): IngestService {
  const { writer, scheduler, pointsPerWrite, landingMarginMs, knownDaysCapacity = 200_000, clock = Date.now } = options;
  const knownDays = new Set<string>();

  const run = async (job: WriteJob, partitions: readonly WriteUnit[], newDays: Map<string, number[]>, closed: Map<string, number[]>, request: IngestRequest): Promise<void> => {
    // The day index first: a day listed with no points is harmless, a point on an unlisted day is invisible.
    // With it, the holds: no summary of a closed day computed from a read that could miss these writes is valid.
    const holdUntil = request.deadlineMs + landingMarginMs;
    await settleAll([
      ...statementsPerMetric(newDays, (metricId, days) => job.run(() => writer.markDays(metricId, days))),
      ...statementsPerMetric(closed, (metricId, days) => job.run(() => writer.holdDaySummaries(metricId, days, holdUntil))),
    ]);
    if (newDays.size > 0) {
      if (knownDays.size > knownDaysCapacity) knownDays.clear();
      for (const [metricId, days] of newDays) for (const day of days) knownDays.add(partitionKey(metricId, day));
    }
    let uncertain = false;
    const write = (unit: WriteUnit): Promise<void> =>
      job.writePartition(unit.metricId, unit.day, unit.points, request.writeTimeUs).catch((error: unknown) => {
        uncertain ||= error !== request.signal.reason; // dropped before sending is certain: it never landed
        throw error;
      });
    try {
      await settleAll(partitions.map(write));
    } finally {
      // A write that failed may still reach replicas that missed it: hold its closed days longer (best effort).
      if (uncertain) {
        const until = clock() + UNCERTAIN_WRITE_HOLD_MS;
        for (const [metricId, days] of closed) writer.holdDaySummaries(metricId, days, until).catch(() => undefined);
      }
    }
  };

  return {
    async ingest(points, request) {
      const partitions = groupByPartition(points);
      const newDays = daysByMetric(partitions, (metricId, day) => !knownDays.has(partitionKey(metricId, day)));
      // Live data (open days) has no summaries to hold.
      const now = clock();
      const closed = daysByMetric(partitions, (_, day) => isClosedDay(day, now));
      let statements = statementCount(newDays) + statementCount(closed);
      for (const unit of partitions) statements += Math.ceil(unit.points.length / pointsPerWrite);

      const job = scheduler.admit({ statements, points: points.length, signal: request.signal });
      try {
        await untilAborted(run(job, partitions, newDays, closed, request), request.signal);
      } finally {
        job.end();
      }
      return points.length;
    },
  };
}

function statementCount(byMetric: ReadonlyMap<string, readonly number[]>): number {
  let count = 0;
  for (const days of byMetric.values()) count += Math.ceil(days.length / DAYS_PER_STATEMENT);
  return count;
}

/** One call per metric and DAYS_PER_STATEMENT of its days. */
function statementsPerMetric(byMetric: ReadonlyMap<string, readonly number[]>, statement: (metricId: string, days: number[]) => Promise<void>): Array<Promise<void>> {
  const calls: Array<Promise<void>> = [];
  for (const [metricId, days] of byMetric) {
    for (let start = 0; start < days.length; start += DAYS_PER_STATEMENT) calls.push(statement(metricId, days.slice(start, start + DAYS_PER_STATEMENT)));
  }
  return calls;
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
