/**
 * Reading part of one hour of a series where it may be sealed (roller/hour-seal.ts):
 * from its chunk, with the raw points of the minutes that may have been written
 * since it was sealed in their place (raw points win: a raw row is never older than
 * the chunk's copy of it), or from its raw points when it has no chunk. Raw rows
 * are a write-ahead layer (MEETR_RAW_KEEP): once an hour is sealed, only the minutes
 * written since need them. Every reader of points goes through here: PromQL, the
 * Meetr API's partial minutes and the roller.
 */
import { ChunkFormatError, type DecodedChunk } from '../domain/chunk-codec.js';
import { decodeChunkPart } from '../domain/chunk-decoder.js';
import { StorageUnavailableError } from '../errors.js';
import type { SpecialValue } from '../domain/point.js';
import { mergeSamples } from '../domain/sample-merge.js';
import { unseal } from '../domain/sealed-samples.js';
import { chunkPeriod } from '../domain/partitions.js';
import { forEachBounded } from '../concurrency.js';
import { MS_PER_MINUTE, type EpochMs } from '../time/units.js';
import { firstAtOrAfter } from '../time/windows.js';
import { chunksWithin, type RangeReader } from './ports.js';

/**
 * Part of an hour: [fromMs, toMs) within `hour`, its chunk if sealed (as stored, or
 * decoded once for several parts), and which epoch minutes to read raw besides.
 */
export interface HourPart {
  readonly metricId: string;
  readonly hour: number;
  readonly fromMs: EpochMs;
  readonly toMs: EpochMs;
  readonly chunk: Uint8Array | DecodedChunk | undefined;
  readonly rawMinute: (minute: number) => boolean;
}

/** An hour part's points (ascending, finite) and, from its chunk, its special samples. */
export interface HourSamples {
  readonly ts: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  readonly special: SpecialValue[];
}

/** Reads an hour part; `take` counts samples as they are loaded (and may throw to stop). */
export async function readHourPart(
  reader: RangeReader,
  part: HourPart,
  take: (count: number) => void = () => undefined,
): Promise<HourSamples> {
  const { metricId, hour, fromMs, toMs, chunk } = part;
  const raw = { ts: [] as number[], values: [] as number[] };
  const scan = (from: EpochMs, to: EpochMs): Promise<number> =>
    reader.scanPoints(metricId, hour, from, to, (ts, value) => {
      take(1);
      raw.ts.push(ts);
      raw.values.push(value);
    });
  if (chunk === undefined) {
    await scan(fromMs, toMs);
    return { ...raw, special: [] };
  }
  for (const run of minuteRuns(part.rawMinute, fromMs, toMs)) await scan(run.fromMs, run.toMs);
  const inRange = fromChunk(part, chunk, take);
  if (raw.ts.length === 0) return inRange;
  const merged = mergeSamples(inRange, raw);
  return { ts: merged.ts, values: merged.values, special: inRange.special };
}

/**
 * An hour part at once, with no read, where its chunk alone holds it (no minute of
 * it is to be read raw); undefined otherwise. A month's `rate(x[5m])` at 1h reads
 * 144,000 parts, nearly all of them so.
 */
export function sealedHourPart(part: HourPart, take: (count: number) => void): HourSamples | undefined {
  if (part.chunk === undefined || minuteRuns(part.rawMinute, part.fromMs, part.toMs).length > 0) return undefined;
  return fromChunk(part, part.chunk, take);
}

/** The samples of an hour part's chunk within the part, counted. */
function fromChunk(
  { metricId, hour, fromMs, toMs }: HourPart,
  chunk: Uint8Array | DecodedChunk,
  take: (count: number) => void,
): HourSamples {
  const sealed = chunk instanceof Uint8Array ? decodeStored(chunk, metricId, hour, [fromMs, toMs]) : chunk;
  const [first, end] = [firstAtOrAfter(sealed.ts, fromMs), firstAtOrAfter(sealed.ts, toMs)];
  take(end - first);
  return unseal(sealed, first, end);
}

/**
 * A stored chunk decoded, the samples of `[fromMs, untilMs)` only when given; one
 * this version cannot read (a newer format, or damaged) is a failure of storage,
 * answered 503 and retried, never taken for no points.
 */
export function decodeStored(
  chunk: Uint8Array,
  metricId: string,
  hour: number,
  [fromMs, untilMs]: readonly [EpochMs, EpochMs] = [-Infinity, Infinity],
): DecodedChunk {
  try {
    return decodeChunkPart(chunk, fromMs, untilMs);
  } catch (error) {
    if (!(error instanceof ChunkFormatError)) throw error;
    throw new StorageUnavailableError(
      `the sealed chunk of ${JSON.stringify(metricId)} for hour ${hour} cannot be read: ${error.message}`,
    );
  }
}

/** The minutes `rawMinute` picks within [fromMs, toMs) as runs of consecutive minutes, clipped to the range. */
function minuteRuns(
  rawMinute: (minute: number) => boolean,
  fromMs: EpochMs,
  toMs: EpochMs,
): Array<{ fromMs: EpochMs; toMs: EpochMs }> {
  const runs: Array<{ fromMs: EpochMs; toMs: EpochMs }> = [];
  for (let minute = Math.floor(fromMs / MS_PER_MINUTE); minute * MS_PER_MINUTE < toMs; minute++) {
    if (!rawMinute(minute)) continue;
    const start = Math.max(fromMs, minute * MS_PER_MINUTE);
    const end = Math.min(toMs, (minute + 1) * MS_PER_MINUTE);
    const last = runs[runs.length - 1];
    if (last !== undefined && last.toMs === start) last.toMs = end;
    else runs.push({ fromMs: start, toMs: end });
  }
  return runs;
}

/** Most hours one read of chunks names (an IN list within one partition). */
export const CHUNK_HOURS_PER_READ = 256;

/**
 * Most series one range read of chunks names: an IN list of partitions. Read 10 to
 * 25 a statement, a day's chunks of 100 series cost Cassandra about half the CPU
 * of a statement each, and a hundred a statement more again (one coordinator).
 */
export const SERIES_PER_CHUNK_READ = 16;

/** Most chunks a read of several series may return: one page of the driver's (cql-session.ts), so reads of long ranges stay many and run side by side. */
const CHUNK_ROWS_PER_READ = 5_000;

/** The hours of one series whose chunks are wanted. */
export interface ChunkRequest {
  readonly metricId: string;
  readonly hours: Iterable<number>;
}

/**
 * The sealed chunks of each request among its hours, by hour, in the requests'
 * order. Per chunk partition, a series whose hours there are consecutive is read
 * by range, in one statement with up to SERIES_PER_CHUNK_READ series that have
 * the same range; scattered hours (a short window at a long step) by hour list,
 * a read per series and partition. `check` runs before each read.
 */
export async function chunksOfSeries(
  reader: RangeReader,
  requests: readonly ChunkRequest[],
  concurrency: number,
  check: () => void = () => undefined,
): Promise<Array<Map<number, Uint8Array>>> {
  const found = requests.map(() => new Map<number, Uint8Array>());
  const ranges = new Map<string, { period: number; first: number; end: number; series: Map<string, number[]> }>();
  const reads: Array<() => Promise<void>> = [];
  requests.forEach(({ metricId, hours }, index) => {
    for (const [period, inPeriod] of hoursByPeriod(hours)) {
      const [first, last] = [inPeriod[0]!, inPeriod[inPeriod.length - 1]!];
      if (last - first + 1 === inPeriod.length) {
        const key = `${period}:${first}:${last}`;
        const range = ranges.get(key) ?? { period, first, end: last + 1, series: new Map<string, number[]>() };
        ranges.set(key, range);
        range.series.set(metricId, [...(range.series.get(metricId) ?? []), index]);
      } else
        for (const some of chunksWithin(inPeriod, CHUNK_HOURS_PER_READ, () => 0))
          reads.push(async () => {
            for (const { hour, bytes } of await reader.readChunksAt(metricId, period, some))
              found[index]!.set(hour, bytes);
          });
    }
  });
  for (const { period, first, end, series } of ranges.values()) {
    const perRead = Math.max(1, Math.min(SERIES_PER_CHUNK_READ, Math.floor(CHUNK_ROWS_PER_READ / (end - first))));
    for (const some of chunksWithin([...series.keys()], perRead, () => 0))
      reads.push(async () => {
        for (const { metricId, hour, bytes } of await reader.readChunks(some, period, first, end))
          for (const index of series.get(metricId) ?? []) found[index]!.set(hour, bytes);
      });
  }
  await forEachBounded(reads, concurrency, async (read) => {
    check();
    await read();
  });
  return found;
}

/** The sealed chunks of `metricId` among `hours`, by hour (chunksOfSeries, one read at a time). */
export async function chunksOf(
  reader: RangeReader,
  metricId: string,
  hours: Iterable<number>,
): Promise<Map<number, Uint8Array>> {
  return (await chunksOfSeries(reader, [{ metricId, hours }], 1))[0]!;
}

/** Hours by chunk partition, each partition's ascending, once each. */
function hoursByPeriod(hours: Iterable<number>): Map<number, number[]> {
  const byPeriod = new Map<number, number[]>();
  for (const hour of [...new Set(hours)].sort((a, b) => a - b)) {
    const inPeriod = byPeriod.get(chunkPeriod(hour));
    if (inPeriod === undefined) byPeriod.set(chunkPeriod(hour), [hour]);
    else inPeriod.push(hour);
  }
  return byPeriod;
}
