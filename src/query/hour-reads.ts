/**
 * One (series, hour) of a PromQL read (sample-reads.ts). An hour the roller has
 * sealed (roller/hour-seal.ts) is read from its chunk, with the raw points of the
 * minutes queued since it was rolled (unrolled-minutes.ts) in their place; an hour
 * without a chunk, from its raw points. Special samples come from the chunk where
 * there is one, and from their own table for the unrolled minutes and the hours
 * without one (specialNeeded). A part its chunk alone holds is read at once
 * (readHourNow), with no await; an hour read in several parts shares one decode
 * (sharedChunks).
 */
import type { DecodedChunk } from '../domain/chunk-codec.js';
import type { SamplesQuery, SpecialValue } from '../domain/point.js';
import type { RangeReader } from '../storage/ports.js';
import type { DecodedChunks } from './decoded-chunks.js';
import {
  decodeStored,
  readHourPart,
  sealedHourPart,
  type HourPart,
  type HourSamples,
} from '../storage/sealed-reads.js';
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
  fill(read, await readHourPart(hour.reader, partOf(hour, read), hour.take));
}

/** Reads the part of an hour `read` names into it at once where its chunk alone holds it; false when it needs a read. */
export function readHourNow(hour: HourRead, read: PointRead): boolean {
  const samples = sealedHourPart(partOf(hour, read), hour.take);
  if (samples !== undefined) fill(read, samples);
  return samples !== undefined;
}

function partOf({ query, chunk, unrolled }: HourRead, read: PointRead): HourPart {
  return {
    metricId: query.metricId,
    hour: read.partition,
    fromMs: read.fromMs,
    toMs: read.toMs,
    chunk,
    rawMinute: (minute) => unrolled.has(minute),
  };
}

function fill(read: PointRead, { ts, values, special }: HourSamples): void {
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

/**
 * The chunk each read takes (by its index in `reads`, each asked once): the decode
 * `decodes` keeps of the very bytes read, if any; else as stored where its hour
 * has one or two parts that are not the whole hour (each decoded no further than it
 * ends, and only its samples copied out: an hour read at its start and its end, as
 * `rate(x[5m])` at a 1h step reads it, is decoded about once); else decoded once
 * for the hour's parts (kept by `decodes`, or let go when the last of them has it:
 * parts of an hour are adjacent in `reads`). One read keeps at most half of what
 * `decodes` holds, so that a long range does not push out what dashboards come back to.
 */
export function sharedChunks(
  queries: readonly SamplesQuery[],
  reads: readonly PointRead[],
  chunks: ReadonlyArray<ReadonlyMap<number, Uint8Array>>,
  decodes?: DecodedChunks,
): (read: PointRead, index: number) => Uint8Array | DecodedChunk | undefined {
  // The first read of each hour read in three parts or more, and how many of its parts are still to take the chunk.
  const firstOf = new Map<number, number>();
  const left = new Map<number, number>();
  for (let first = 0, end = 1; first < reads.length; first = end, end = first + 1) {
    while (end < reads.length && sameHourAsBefore(reads, end)) end++;
    if (end - first < 3) continue;
    left.set(first, end - first);
    for (let i = first; i < end; i++) firstOf.set(i, first);
  }
  let keptSamples = 0;
  /** The chunk decoded whole and kept, while this read has kept less than its share; undefined past it. */
  const keep = (metricId: string, hour: number, bytes: Uint8Array): DecodedChunk | undefined => {
    if (decodes === undefined || keptSamples >= decodes.maxSamples / 2) return undefined;
    const chunk = decodes.decode(metricId, hour, bytes);
    keptSamples += chunk.ts.length;
    return chunk;
  };
  const decoded = new Map<number, DecodedChunk>();
  return (read, index) => {
    const { partition } = read;
    const bytes = chunks[read.query]!.get(partition);
    if (bytes === undefined) return undefined;
    const { metricId } = queries[read.query]!;
    const known = decodes?.get(metricId, partition, bytes);
    if (known !== undefined) return known;
    const first = firstOf.get(index);
    if (first === undefined) {
      const whole = read.fromMs === partition * MS_PER_HOUR && read.toMs === (partition + 1) * MS_PER_HOUR;
      return (whole ? keep(metricId, partition, bytes) : undefined) ?? bytes;
    }
    const chunk = decoded.get(first) ?? keep(metricId, partition, bytes) ?? decodeStored(bytes, metricId, partition);
    const parts = left.get(first)!;
    if (parts > 1) decoded.set(first, chunk);
    else decoded.delete(first);
    left.set(first, parts - 1);
    return chunk;
  };
}

/** Whether reads[i] is a further part of the (query, hour) of the read before it (parts of an hour are adjacent). */
export function sameHourAsBefore(reads: readonly PointRead[], i: number): boolean {
  return i > 0 && reads[i - 1]!.query === reads[i]!.query && reads[i - 1]!.partition === reads[i]!.partition;
}
