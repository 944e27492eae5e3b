import { randomUUID } from 'node:crypto';
import { createYielder, settleAll } from '../concurrency.js';
import { OverloadedError } from '../errors.js';
import { type Point, type SpecialSample } from '../domain/point.js';
import { REUSE_MS, slotOf, UNCERTAIN_WRITE_HOLD_MS } from '../rollup/roll-queue.js';
import {
  dirtyDayChunks,
  seriesChunks,
  type CatalogueEntry,
  type DirtyDay,
  type LargeWriteLease,
  type PointWriter,
} from '../storage/ports.js';
import { type EpochMs } from '../time/units.js';
import { untilAborted, type WorkScope } from '../work-scope.js';
import {
  CataloguedSeries,
  inChunksPerShard,
  minutesByMetric,
  noPause,
  QueuedMinutes,
  queueRowsOf,
  queuedSamples,
  specialByDay,
  statementsOf,
  type CatalogueRows,
  type SpecialDay,
  type WriteUnit,
} from './write-plan.js';
import type { WriteJob, WriteScheduler } from './write-scheduler.js';
import { groupByPartition } from '../domain/partitions.js';

export interface IngestServiceOptions {
  readonly writer: PointWriter;
  /** Every statement goes through it (see write-scheduler.ts). */
  readonly scheduler: WriteScheduler;
  /**
   * A request over at least `partitions` raw partitions holds `lease` while it runs,
   * or is shed (503) when another worker's holds it: Cassandra's work grows with the
   * partitions a write touches, and two such writes at once could both miss their
   * deadline where one alone makes it. None: no such limit (one process alone).
   */
  readonly largeWrites?: { readonly lease: LargeWriteLease; readonly partitions: number };
  /** Points per single-partition write (one unlogged batch); the scheduler's. */
  readonly pointsPerWrite: number;
  /**
   * How long after a request's deadline a write it sent may still land (the storage
   * timeout, plus clock margin): a write's hold on its minutes lasts that long past
   * its deadline.
   */
  readonly landingMarginMs: number;
  /** How many queued (metric, minute) holds this process remembers, to reuse them. */
  readonly knownMinutesCapacity?: number;
  /** How many series this process remembers as catalogued (with their day spans). */
  readonly knownSeriesCapacity?: number;
  readonly clock?: () => EpochMs;
}

/** One request's insert: when it arrived (its points' write time) and what bounds it. */
export interface IngestRequest extends WorkScope {
  /** Microseconds since the epoch when the request arrived: the write time of its points. */
  readonly writeTimeUs: number;
}

export interface IngestService {
  /**
   * Stores validated points (and special samples, which only PromQL reads);
   * resolves only once Cassandra acknowledged every one. Returns how many points
   * were received. Throws OverloadedError before doing anything when the worker
   * is too busy, and the scope's reason once it fires.
   */
  ingest(points: readonly Point[], request: IngestRequest, specialSamples?: readonly SpecialSample[]): Promise<number>;
}

/** Planning a request's writes runs at most this long before it lets other requests run. */
const PAUSE_AFTER_MS = 10;

/**
 * Writes points and queues their minutes for the roller (roll-queue.ts): the queue
 * rows first, then the points, so a point is never stored without the roller
 * learning of it. Special samples queue their minutes too: the roller seals them
 * with the points (roller/hour-seal.ts). A queued minute's hold is reused by later writes it still covers,
 * and a write to the live minute also queues the minutes its hold reaches into,
 * so a live metric queues about once per REUSE_MS per worker, not once per point.
 */
export function createIngestService(options: IngestServiceOptions): IngestService {
  const { knownMinutesCapacity = 200_000, knownSeriesCapacity = 200_000, clock = Date.now } = options;
  const { scheduler, pointsPerWrite, landingMarginMs } = options;
  const queued = new QueuedMinutes(knownMinutesCapacity);
  const catalogued = new CataloguedSeries(knownSeriesCapacity);
  const run = runner(options.writer, queued, catalogued, clock);

  return {
    async ingest(points, request, specialSamples = []) {
      // A batch of 20,000 new metrics takes some 300 ms to plan: other requests get turns meanwhile.
      const pause = createYielder(PAUSE_AFTER_MS);
      const partitions = await groupByPartition(points, pause);
      const needMs = request.deadlineMs + landingMarginMs;
      // Before planning, which takes seconds for 100,000 new series: a large write shed here costs no more.
      // Not cut short by the signal: a lease taken after the request gave up would be held until its TTL.
      const release = await holdLargeWrite(partitions.length, needMs);
      let job: WriteJob | undefined;
      try {
        const special = specialByDay(specialSamples);
        const holdMs = needMs + REUSE_MS;
        const queue = await queued.rowsFor(queuedSamples(partitions, special.values()), needMs, holdMs, clock(), pause);
        const series = await catalogued.rowsFor(partitions, special.values(), pause);
        request.signal.throwIfAborted();
        const queueChunks = inChunksPerShard(queue.rows, dirtyDayChunks);
        const seriesStatements = inChunksPerShard(series, seriesChunks);
        const statements =
          queueChunks.length + seriesStatements.length + statementsOf(partitions, pointsPerWrite) + special.size;

        job = scheduler.admit({ statements, points: points.length, signal: request.signal });
        await untilAborted(
          run(
            job,
            partitions,
            { ...queue, chunks: queueChunks },
            { rows: series, chunks: seriesStatements },
            special,
            holdMs,
            request,
          ),
          request.signal,
        );
      } finally {
        job?.end();
        await release();
      }
      return points.length;
    },
  };

  /**
   * Takes the large-write lease for a request over `partitions` partitions, until
   * its writes may still land (`needMs`); what gives it back. Throws OverloadedError
   * when another request holds it.
   */
  async function holdLargeWrite(partitions: number, needMs: EpochMs): Promise<() => Promise<void>> {
    const { largeWrites } = options;
    if (largeWrites === undefined || partitions < largeWrites.partitions) return noRelease;
    const owner = randomUUID();
    const ttlSeconds = Math.max(1, Math.ceil((needMs - clock()) / 1000));
    if (!(await largeWrites.lease.takeLargeWrite(owner, ttlSeconds)))
      throw new OverloadedError(
        'large_write_busy',
        `this request writes ${partitions} partitions (series-hours); a request of ${largeWrites.partitions} or more (MEETR_LARGE_WRITE_PARTITIONS) is written one at a time across the service and another is being written; nothing was written; retry shortly`,
      );
    // Given back before the answer; a release that fails ends with the lease's TTL, and fails no request.
    return () => largeWrites.lease.releaseLargeWrite(owner).catch(() => undefined);
  }
}

const noRelease = (): Promise<void> => Promise.resolve();

/** Runs a planned insert as the scheduler gives it turns: queue and catalogue rows first, then the points. */
function runner(writer: PointWriter, queued: QueuedMinutes, catalogued: CataloguedSeries, clock: () => EpochMs) {
  return async (
    job: WriteJob,
    partitions: readonly WriteUnit[],
    queue: { minutes: Map<string, number[]>; chunks: ReadonlyArray<[number, DirtyDay[]]> },
    series: { rows: CatalogueRows; chunks: ReadonlyArray<[number, CatalogueEntry[]]> },
    special: ReadonlyMap<string, SpecialDay>,
    holdMs: EpochMs,
    request: IngestRequest,
  ): Promise<void> => {
    // The queue and the catalogue first: a minute queued or a series listed with no new point is harmless,
    // a point whose minute is not queued would never be rolled up, one whose series is not listed never found.
    const slot = slotOf(holdMs);
    await settleAll([
      ...queue.chunks.map(([shard, days]) => job.run(() => writer.markDirty(shard, slot, days))),
      ...series.chunks.map(([shard, entries]) => job.run(() => writer.recordSeries(shard, entries))),
    ]);
    queued.remember(queue.minutes, holdMs);
    catalogued.remember(series.rows);
    let uncertain = false;
    const write = (unit: WriteUnit): Promise<void> =>
      job.writePartition(unit.metricId, unit.partition, unit.points, request.writeTimeUs).catch((error: unknown) => {
        uncertain ||= error !== request.signal.reason; // dropped before sending is certain: it never landed
        throw error;
      });
    const writeSpecial = ({ metricId, day, samples }: SpecialDay): Promise<void> =>
      job.run(() => writer.writeSpecialSamples(metricId, day, samples, request.writeTimeUs));
    try {
      await settleAll([...partitions.map(write), ...[...special.values()].map(writeSpecial)]);
    } finally {
      // A write that failed may still reach replicas that missed it: queue its minutes again for later (best effort).
      if (uncertain) {
        const late = slotOf(clock() + UNCERTAIN_WRITE_HOLD_MS);
        const all = await queueRowsOf(
          await minutesByMetric(queuedSamples(partitions, special.values()), (_, minute, add) => add(minute), noPause),
          noPause,
        );
        for (const [shard, days] of all) writer.markDirty(shard, late, days).catch(() => undefined);
      }
    }
  };
}
