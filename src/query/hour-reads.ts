/**
 * One (series, hour) of a PromQL read (sample-reads.ts). An hour the roller has
 * sealed (roller/hour-seal.ts) is read from its chunk, with the raw points of the
 * minutes queued since it was rolled (unrolled-minutes.ts) in their place; an hour
 * without a chunk, from its raw points. Special samples come from the chunk where
 * there is one, and from their own table for the unrolled minutes and the hours
 * without one (specialNeeded).
 */
import type { DecodedChunk } from '../domain/chunk-codec.js';
import type { SamplesQuery, SpecialValue } from '../domain/point.js';
import type { RangeReader } from '../storage/ports.js';
import { readHourPart } from '../storage/sealed-reads.js';
import { MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';

/** One (query, hour): the part [fromMs, toMs) of the hour to read; its points and the special samples of its chunk, set once read. */
export interface PointRead {
  readonly query: number;
  readonly partition: number;
  readonly fromMs: EpochMs;
  toMs: EpochMs;
  ts: ArrayLike<number>;
  values: ArrayLike<number>;
  special: readonly SpecialValue[];
}

export interface HourRead {
  readonly reader: RangeReader;
  readonly query: SamplesQuery;
  /** The hour's chunk if sealed: as stored, or decoded once for the hour's several parts. */
  readonly chunk: Uint8Array | DecodedChunk | undefined;
  /** Epoch minutes of the metric queued since they were last rolled. */
  readonly unrolled: ReadonlySet<number>;
  /** Counts samples as they are loaded; throws past the query's bound. */
  readonly take: (count: number) => void;
}

/** Reads the part of an hour `read` names into it. */
export async function readHour(hour: HourRead, read: PointRead): Promise<void> {
  const { reader, query, chunk, unrolled, take } = hour;
  const { ts, values, special } = await readHourPart(
    reader,
    {
      metricId: query.metricId,
      hour: read.partition,
      fromMs: read.fromMs,
      toMs: read.toMs,
      chunk,
      rawMinute: (minute) => unrolled.has(minute),
    },
    take,
  );
  [read.ts, read.values, read.special] = [ts, values, special];
}

/**
 * Whether a special sample at `ts` must come from its own table: its hour has no
 * chunk, or its minute is unrolled (the chunk may lack it).
 */
export function specialNeeded(
  ts: EpochMs,
  sealedHours: ReadonlyMap<number, unknown>,
  unrolled: ReadonlySet<number>,
): boolean {
  return !sealedHours.has(Math.floor(ts / MS_PER_HOUR)) || unrolled.has(Math.floor(ts / MS_PER_MINUTE));
}
