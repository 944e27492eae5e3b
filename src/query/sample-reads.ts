/**
 * Samples of several series as one bounded read, for PromQL: points per hour and
 * special samples per day, counted against `maxSamples` as they arrive. An hour the
 * roller has sealed (roller/hour-seal.ts) is read from its chunk, with the raw
 * points of the minutes queued since it was rolled (unrolled-minutes.ts) in their
 * place; an hour without a chunk, from its raw points. The queue is read before the
 * chunks: a minute rolled after that read was sealed before the chunk is read.
 */
import { forEachBounded, settleAll } from '../concurrency.js';
import type { MetricSamples, SamplesQuery, SpecialValue } from '../domain/point.js';
import { decodeChunk } from '../domain/chunk-codec.js';
import { chunkPeriod, samplePartition } from '../domain/partitions.js';
import { mergeSamples } from '../domain/sample-merge.js';
import { MeetrError } from '../errors.js';
import type { RangeReader } from '../storage/ports.js';
import { dayBucket } from '../time/day-bucket.js';
import { MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';
import { firstAtOrAfter } from '../time/windows.js';
import type { UnrolledMinutes } from './unrolled-minutes.js';
import { checkScope, untilAborted, type WorkScope } from '../work-scope.js';

export interface SampleReadOptions {
  readonly reader: RangeReader;
  readonly concurrency: number;
  readonly maxPartitions: number;
  /** Waits for the worker's turn to search; resolves to its release. */
  readonly take: (scope: WorkScope) => Promise<() => void>;
  readonly unrolled: UnrolledMinutes;
}

/** One (query, hour): its points, set once read. */
type PointRead = { query: number; partition: number; ts: ArrayLike<number>; values: ArrayLike<number> };

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
type SpecialRead = { query: number; day: number; samples: SpecialValue[] };

/** The raw points of each query, in query order; query_too_large past maxPartitions partitions or maxSamples points. */
export async function readSamples(
  options: SampleReadOptions,
  queries: readonly SamplesQuery[],
  maxSamples: number,
  scope: WorkScope,
): Promise<MetricSamples[]> {
  const { reader, concurrency } = options;
  const { reads, specialReads } = readsOf(queries, options.maxPartitions);
  const release = await options.take(scope);
  const budget = new SampleBudget(maxSamples);
  try {
    const points = async (): Promise<void> => {
      const unrolled = await options.unrolled.ofMany(
        queries.map(({ metricId }) => metricId),
        scope,
      );
      const chunks = await sealedChunks(options, queries, scope);
      await forEachBounded(reads, concurrency, async (read) => {
        checkScope(scope);
        const query = queries[read.query]!;
        const hour = {
          reader,
          query,
          chunk: chunks[read.query]!.get(read.partition),
          unrolled: unrolled.get(query.metricId)!,
        };
        await readHour(hour, read, budget);
      });
    };
    await untilAborted(
      settleAll([
        points(),
        // Special samples are rare: a day partition each, read while the points are.
        forEachBounded(specialReads, concurrency, async (read) => {
          checkScope(scope);
          const { metricId, fromMs, toMs } = queries[read.query]!;
          read.samples.push(...(await reader.specialSamples(metricId, read.day, fromMs, toMs + 1)));
        }),
      ]),
      scope.signal,
    );
  } finally {
    release();
  }
  return answersOf(queries, reads, specialReads);
}

/** Each query's sealed chunks by hour: one read per chunk partition its range touches. */
async function sealedChunks(
  { reader, concurrency }: SampleReadOptions,
  queries: readonly SamplesQuery[],
  scope: WorkScope,
): Promise<Array<Map<number, Uint8Array>>> {
  const chunks = queries.map(() => new Map<number, Uint8Array>());
  const reads: Array<{ query: number; period: number }> = [];
  queries.forEach(({ fromMs, toMs }, query) => {
    for (let period = chunkPeriod(samplePartition(fromMs)); period <= chunkPeriod(samplePartition(toMs)); period++)
      reads.push({ query, period });
  });
  await forEachBounded(reads, concurrency, async ({ query, period }) => {
    checkScope(scope);
    const { metricId, fromMs, toMs } = queries[query]!;
    for (const { hour, bytes } of await reader.readChunks(
      metricId,
      period,
      samplePartition(fromMs),
      samplePartition(toMs) + 1,
    ))
      chunks[query]!.set(hour, bytes);
  });
  return chunks;
}

interface HourRead {
  readonly reader: RangeReader;
  readonly query: SamplesQuery;
  readonly chunk: Uint8Array | undefined;
  /** Epoch minutes of the metric queued since they were last rolled. */
  readonly unrolled: ReadonlySet<number>;
}

/** One hour's points within the query's range: its chunk and unrolled minutes when sealed, else its raw points. */
async function readHour(hour: HourRead, read: PointRead, budget: SampleBudget): Promise<void> {
  const { reader, query, chunk } = hour;
  const fromMs = Math.max(query.fromMs, read.partition * MS_PER_HOUR);
  const toMs = Math.min(query.toMs + 1, (read.partition + 1) * MS_PER_HOUR);
  const raw = { ts: [] as number[], values: [] as number[] };
  const scan = (from: EpochMs, to: EpochMs): Promise<number> =>
    reader.scanPoints(query.metricId, read.partition, from, to, (ts, value) => {
      budget.take(1);
      raw.ts.push(ts);
      raw.values.push(value);
    });
  if (chunk === undefined) {
    await scan(fromMs, toMs);
    read.ts = raw.ts;
    read.values = raw.values;
    return;
  }
  for (const run of unrolledRuns(hour.unrolled, fromMs, toMs)) await scan(run.fromMs, run.toMs);
  const sealed = decodeChunk(chunk);
  const first = firstAtOrAfter(sealed.ts, fromMs);
  const end = firstAtOrAfter(sealed.ts, toMs);
  budget.take(end - first);
  const inRange = { ts: sealed.ts.subarray(first, end), values: sealed.values.subarray(first, end) };
  const merged = raw.ts.length === 0 ? inRange : mergeSamples(inRange, raw);
  read.ts = merged.ts;
  read.values = merged.values;
}

/** The unrolled minutes within [fromMs, toMs) as runs of consecutive minutes, clipped to the range. */
function unrolledRuns(
  unrolled: ReadonlySet<number>,
  fromMs: EpochMs,
  toMs: EpochMs,
): Array<{ fromMs: EpochMs; toMs: EpochMs }> {
  const runs: Array<{ fromMs: EpochMs; toMs: EpochMs }> = [];
  for (let minute = Math.floor(fromMs / MS_PER_MINUTE); minute * MS_PER_MINUTE < toMs; minute++) {
    if (!unrolled.has(minute)) continue;
    const start = Math.max(fromMs, minute * MS_PER_MINUTE);
    const end = Math.min(toMs, (minute + 1) * MS_PER_MINUTE);
    const last = runs[runs.length - 1];
    if (last !== undefined && last.toMs === start) last.toMs = end;
    else runs.push({ fromMs: start, toMs: end });
  }
  return runs;
}

/** One read per (query, hour partition) and per (query, day) of special samples; counted before any list is built. */
function readsOf(
  queries: readonly SamplesQuery[],
  maxPartitions: number,
): { reads: PointRead[]; specialReads: SpecialRead[] } {
  // A range of ten thousand years is refused, not enumerated.
  let partitions = 0;
  for (const { fromMs, toMs } of queries) {
    partitions += samplePartition(toMs) - samplePartition(fromMs) + 1;
    if (partitions > maxPartitions) {
      throw new MeetrError(
        'query_too_large',
        `the query reads raw points of more than ${maxPartitions} (series, hour) partitions (MEETR_MAX_SEARCH_PARTITIONS); select fewer series or a shorter range`,
      );
    }
  }
  const reads: PointRead[] = [];
  const specialReads: SpecialRead[] = [];
  for (let query = 0; query < queries.length; query++) {
    const { fromMs, toMs } = queries[query]!;
    for (let partition = samplePartition(fromMs); partition <= samplePartition(toMs); partition++)
      reads.push({ query, partition, ts: [], values: [] }); // until read
    for (let day = dayBucket(fromMs); day <= dayBucket(toMs); day++) specialReads.push({ query, day, samples: [] });
  }
  return { reads, specialReads };
}

/** Each query's reads joined in order: its points ascending (partitions are), its special samples. */
function answersOf(queries: readonly SamplesQuery[], reads: PointRead[], specialReads: SpecialRead[]): MetricSamples[] {
  const lengths = queries.map(() => 0);
  for (const read of reads) lengths[read.query]! += read.ts.length;
  const answers = queries.map(({ metricId }, query) => ({
    metricId,
    ts: new Array<number>(lengths[query]!),
    values: new Array<number>(lengths[query]!),
    special: [] as SpecialValue[],
  }));
  for (const read of specialReads) answers[read.query]!.special.push(...read.samples);
  const filled = queries.map(() => 0);
  for (const read of reads) {
    const answer = answers[read.query]!;
    let at = filled[read.query]!;
    for (let i = 0; i < read.ts.length; i++, at++) {
      answer.ts[at] = read.ts[i]!;
      answer.values[at] = read.values[i]!;
    }
    filled[read.query] = at;
  }
  return answers;
}
