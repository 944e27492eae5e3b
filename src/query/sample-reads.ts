/**
 * Samples of several series as one bounded read, for PromQL: points and special
 * samples per hour (hour-reads.ts), counted against `maxSamples` as they arrive.
 * The roll queue is read before the chunks: a minute rolled after that read was
 * sealed before the chunk is read. Special samples the chunks cannot hold are read
 * from their own table, a day partition at a time, for the days that need it.
 */
import { createYielder, forEachBounded, PAUSE_EVERY, settleAll, YIELD_MS } from '../concurrency.js';
import type { MetricSamples, SamplesQuery, SpecialValue, TimeSpan } from '../domain/point.js';
import { samplePartition } from '../domain/partitions.js';
import { MeetrError } from '../errors.js';
import type { RangeReader } from '../storage/ports.js';
import { chunksOfSeries } from '../storage/sealed-reads.js';
import { dayBucket } from '../time/day-bucket.js';
import { MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';
import {
  readHour,
  readHourNow,
  sameHourAsBefore,
  sharedChunks,
  specialNeeded,
  type HourRead,
  type PointRead,
} from './hour-reads.js';
import type { UnrolledMinutes } from './unrolled-minutes.js';
import type { DecodedChunks } from './decoded-chunks.js';
import { checkScope, untilAborted, type WorkScope } from '../work-scope.js';

export interface SampleReadOptions {
  readonly reader: RangeReader;
  readonly concurrency: number;
  readonly maxPartitions: number;
  /** Waits for the worker's turn to search; resolves to its release. */
  readonly take: (scope: WorkScope) => Promise<() => void>;
  readonly unrolled: UnrolledMinutes;
  /** Decoded chunks kept from earlier reads, used where the bytes read are theirs. */
  readonly decodedChunks?: DecodedChunks;
}

/** Counts samples as they are loaded, refusing past the query's bound. */
class SampleBudget {
  private loaded = 0;
  constructor(private readonly maxSamples: number) {}

  take(count: number): void {
    this.loaded += count;
    if (this.loaded > this.maxSamples)
      throw new MeetrError(
        'query_too_large',
        `query processing would load too many samples into memory (more than ${this.maxSamples}, MEETR_MAX_QUERY_SAMPLES)`,
      );
  }
}
/** One (query, UTC day) of special samples from their table, keeping those `keep` says the chunks lack. */
type SpecialRead = { query: number; day: number; samples: SpecialValue[] };

/** The samples of each query, in query order; query_too_large past maxPartitions partitions or maxSamples samples. */
export async function readSamples(
  options: SampleReadOptions,
  queries: readonly SamplesQuery[],
  maxSamples: number,
  scope: WorkScope,
): Promise<MetricSamples[]> {
  const { reader, concurrency } = options;
  const reads = readsOf(queries, options.maxPartitions);
  const release = await options.take(scope);
  const budget = new SampleBudget(maxSamples);
  try {
    const read = async (): Promise<SpecialRead[]> => {
      const metricIds = queries.map(({ metricId }) => metricId);
      const unrolled = await options.unrolled.ofMany(metricIds, scope);
      const chunks = await sealedChunks(options, queries, reads, scope);
      rawHoursWithin(reads, chunks, options.maxPartitions);
      const unrolledOf = (query: number): ReadonlySet<number> => unrolled.get(queries[query]!.metricId)!;
      const keep = (query: number, ts: EpochMs): boolean => specialNeeded(ts, chunks[query]!, unrolledOf(query));
      const specialReads = specialDays(queries, reads, chunks, unrolledOf);
      const take = (count: number): void => budget.take(count);
      const chunkOf = sharedChunks(queries, reads, chunks, options.decodedChunks);
      const hourOf = (one: PointRead, index: number): HourRead => {
        const [query, chunk] = [queries[one.query]!, chunkOf(one, index)];
        return { reader, query, chunk, unrolled: unrolledOf(one.query), take };
      };
      const pending = await readSealedNow(reads, hourOf, scope);
      await settleAll([
        forEachBounded(pending, concurrency, async ({ read: one, hour }) => {
          checkScope(scope);
          await readHour(hour, one);
        }),
        forEachBounded(specialReads, concurrency, async (one) => {
          checkScope(scope);
          const { metricId, fromMs, toMs } = queries[one.query]!;
          for (const sample of await reader.specialSamples(metricId, one.day, fromMs, toMs + 1))
            if (keep(one.query, sample.ts)) one.samples.push(sample);
        }),
      ]);
      return specialReads;
    };
    return answersOf(queries, reads, await untilAborted(read(), scope.signal));
  } finally {
    release();
  }
}

/**
 * Fills the reads that their chunks alone hold, at once and in order (giving the
 * event loop back every YIELD_MS); returns the others, to be read, with what each reads from.
 */
async function readSealedNow(
  reads: readonly PointRead[],
  hourOf: (read: PointRead, index: number) => HourRead,
  scope: WorkScope,
): Promise<Array<{ read: PointRead; hour: HourRead }>> {
  const pending: Array<{ read: PointRead; hour: HourRead }> = [];
  const pause = createYielder(YIELD_MS);
  for (let i = 0; i < reads.length; i++) {
    const [read, hour] = [reads[i]!, hourOf(reads[i]!, i)];
    if (!readHourNow(hour, read)) pending.push({ read, hour });
    if (i % PAUSE_EVERY === 0 && (await pause())) checkScope(scope);
  }
  return pending;
}

/**
 * The (query, UTC day) pairs whose special samples the chunks may lack: a day with
 * an hour read that has no chunk, or with an unrolled minute within the query's range.
 */
function specialDays(
  queries: readonly SamplesQuery[],
  reads: readonly PointRead[],
  chunks: ReadonlyArray<ReadonlyMap<number, unknown>>,
  unrolledOf: (query: number) => ReadonlySet<number>,
): SpecialRead[] {
  const days = queries.map(() => new Set<number>());
  for (const { query, partition, fromMs } of reads)
    if (!chunks[query]!.has(partition)) days[query]!.add(dayBucket(fromMs));
  queries.forEach(({ fromMs, toMs }, query) => {
    for (const minute of unrolledOf(query)) {
      const [start, end] = [minute * MS_PER_MINUTE, (minute + 1) * MS_PER_MINUTE - 1];
      if (end >= fromMs && start <= toMs) days[query]!.add(dayBucket(Math.max(fromMs, start)));
    }
  });
  return days.flatMap((ofQuery, query) =>
    [...ofQuery].sort((a, b) => a - b).map((day) => ({ query, day, samples: [] as SpecialValue[] })),
  );
}

/** Each query's sealed chunks of the hours it reads, by hour: series with the same hours read together (chunksOfSeries). */
async function sealedChunks(
  { reader, concurrency }: SampleReadOptions,
  queries: readonly SamplesQuery[],
  reads: readonly PointRead[],
  scope: WorkScope,
): Promise<Array<Map<number, Uint8Array>>> {
  const hoursOf = queries.map((): number[] => []);
  for (const { query, partition } of reads) hoursOf[query]!.push(partition);
  const requests = queries.map(({ metricId }, query) => ({ metricId, hours: hoursOf[query]! }));
  return chunksOfSeries(reader, requests, concurrency, () => checkScope(scope));
}

/** What a read holds until it is read (assigned, never added to). */
const UNREAD: readonly never[] = Object.freeze([]);

/** (Series, hour) partitions a query may touch per raw one it may read: a sealed hour is a chunk read 256 to a statement, a raw one a scan. */
const HOURS_PER_RAW_PARTITION = 50;

/**
 * One read per part of an hour partition a query's spans cover (spans that touch within the hour are one part),
 * counted before any list is built against HOURS_PER_RAW_PARTITION times maxPartitions (raw ones: rawHoursWithin).
 */
function readsOf(queries: readonly SamplesQuery[], maxPartitions: number): PointRead[] {
  // A range of ten thousand years is refused, not enumerated.
  const maxHours = maxPartitions * HOURS_PER_RAW_PARTITION;
  let partitions = 0;
  for (const query of queries) {
    let counted = -Infinity;
    for (const [from, to] of spansOf(query)) {
      const [first, last] = [Math.max(samplePartition(from), counted + 1), samplePartition(to)];
      if (last >= first) [partitions, counted] = [partitions + last - first + 1, last];
    }
    if (partitions > maxHours) {
      throw new MeetrError(
        'query_too_large',
        `the query touches more than ${maxHours} (series, hour) partitions, ${HOURS_PER_RAW_PARTITION} times MEETR_MAX_SEARCH_PARTITIONS; select fewer series or a shorter range`,
      );
    }
  }
  const reads: PointRead[] = [];
  queries.forEach((query, index) => {
    let last: PointRead | undefined;
    for (const [from, to] of spansOf(query)) {
      for (let partition = samplePartition(from); partition <= samplePartition(to); partition++) {
        const [fromMs, toMs] = [
          Math.max(from, partition * MS_PER_HOUR),
          Math.min(to + 1, (partition + 1) * MS_PER_HOUR),
        ];
        // Parts of an hour apart stay apart: only what they cover is kept and counted (sharedChunks decodes once).
        if (last?.partition === partition && fromMs <= last.toMs) last.toMs = toMs;
        else
          reads.push((last = { query: index, partition, fromMs, toMs, ts: UNREAD, values: UNREAD, special: UNREAD }));
      }
    }
  });
  return reads;
}

/** Throws query_too_large when more than `maxPartitions` of the (series, hour) partitions read have no chunk (their raw rows are scanned). */
function rawHoursWithin(
  reads: readonly PointRead[],
  chunks: ReadonlyArray<ReadonlyMap<number, Uint8Array>>,
  maxPartitions: number,
): void {
  let raw = 0;
  reads.forEach((read, i) => {
    if (!sameHourAsBefore(reads, i) && !chunks[read.query]!.has(read.partition) && ++raw > maxPartitions)
      throw new MeetrError(
        'query_too_large',
        `the query reads raw points of more than ${maxPartitions} (series, hour) partitions (MEETR_MAX_SEARCH_PARTITIONS); select fewer series or a shorter range`,
      );
  });
}

/** The spans of a query: its own, or its whole range. */
function spansOf({ fromMs, toMs, spans }: SamplesQuery): readonly TimeSpan[] {
  return spans ?? [[fromMs, toMs]];
}

/** Each query's reads joined in order: its points ascending (partitions are), its special samples. */
function answersOf(queries: readonly SamplesQuery[], reads: PointRead[], specialReads: SpecialRead[]): MetricSamples[] {
  const lengths = queries.map(() => 0);
  for (const read of reads) lengths[read.query]! += read.ts.length;
  const answers = queries.map(({ metricId }, query) => ({
    metricId,
    ts: new Float64Array(lengths[query]!),
    values: new Float64Array(lengths[query]!),
    special: [] as SpecialValue[],
  }));
  specialsInto(answers, reads, specialReads);
  const filled = queries.map(() => 0);
  for (const read of reads) {
    const answer = answers[read.query]!;
    const at = filled[read.query]!;
    answer.ts.set(read.ts, at);
    answer.values.set(read.values, at);
    filled[read.query] = at + read.ts.length;
  }
  // Reads cover exactly a query's spans (readsOf), so their points are within them; special samples are read by day.
  queries.forEach(({ spans }, query) => {
    if (spans !== undefined) answers[query]!.special = specialWithin(answers[query]!.special, spans);
  });
  return answers;
}

/** The special samples (ascending) within `spans` (ascending, disjoint). */
function specialWithin(special: readonly SpecialValue[], spans: readonly TimeSpan[]): SpecialValue[] {
  let span = 0;
  return special.filter(({ ts }) => {
    while (span < spans.length && spans[span]![1] < ts) span++;
    return span < spans.length && spans[span]![0] <= ts;
  });
}

/**
 * Each query's special samples, ascending, one per ts: its chunks' and its table's,
 * the table's winning a ts both hold (it is the newer, for a minute written since).
 */
function specialsInto(
  answers: Array<{ special: SpecialValue[] }>,
  reads: PointRead[],
  specialReads: SpecialRead[],
): void {
  const byTs = answers.map(() => new Map<number, SpecialValue>());
  for (const read of reads) for (const sample of read.special) byTs[read.query]!.set(sample.ts, sample);
  for (const read of specialReads) for (const sample of read.samples) byTs[read.query]!.set(sample.ts, sample);
  byTs.forEach((samples, query) => {
    if (samples.size > 0) answers[query]!.special = [...samples.values()].sort((a, b) => a.ts - b.ts);
  });
}
