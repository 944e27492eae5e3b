/**
 * Raw samples of several series as one bounded read, for PromQL: points per hour
 * partition and special samples per day, counted against `maxSamples` as they arrive.
 */
import { forEachBounded, settleAll } from '../concurrency.js';
import type { MetricSamples, SamplesQuery, SpecialValue } from '../domain/point.js';
import { samplePartition } from '../domain/partitions.js';
import { MeetrError } from '../errors.js';
import type { RangeReader } from '../storage/ports.js';
import { dayBucket } from '../time/day-bucket.js';
import { checkScope, untilAborted, type WorkScope } from '../work-scope.js';

export interface SampleReadOptions {
  readonly reader: RangeReader;
  readonly concurrency: number;
  readonly maxPartitions: number;
  /** Waits for the worker's turn to search; resolves to its release. */
  readonly take: (scope: WorkScope) => Promise<() => void>;
}

type PointRead = { query: number; partition: number; ts: number[]; values: number[] };
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
  let loaded = 0;
  try {
    await untilAborted(
      settleAll([
        forEachBounded(reads, concurrency, async (read) => {
          checkScope(scope);
          const { metricId, fromMs, toMs } = queries[read.query]!;
          await reader.scanPoints(metricId, read.partition, fromMs, toMs + 1, (ts, value) => {
            if (++loaded > maxSamples)
              throw new MeetrError(
                'query_too_large',
                `query processing would load too many samples into memory (more than ${maxSamples}, MEETR_MAX_QUERY_SAMPLES)`,
              );
            read.ts.push(ts);
            read.values.push(value);
          });
        }),
        // Special samples are rare: a day partition each, read beside the points.
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
      reads.push({ query, partition, ts: [], values: [] });
    for (let day = dayBucket(fromMs); day <= dayBucket(toMs); day++) specialReads.push({ query, day, samples: [] });
  }
  return { reads, specialReads };
}

/** Each query's reads joined in order: its points ascending (partitions are), its special samples. */
function answersOf(queries: readonly SamplesQuery[], reads: PointRead[], specialReads: SpecialRead[]): MetricSamples[] {
  const answers = queries.map(({ metricId }) => ({
    metricId,
    ts: [] as number[],
    values: [] as number[],
    special: [] as SpecialValue[],
  }));
  for (const read of specialReads) answers[read.query]!.special.push(...read.samples);
  for (const read of reads) {
    const answer = answers[read.query]!;
    for (let i = 0; i < read.ts.length; i++) {
      answer.ts.push(read.ts[i]!);
      answer.values.push(read.values[i]!);
    }
  }
  return answers;
}
