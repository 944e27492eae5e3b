/**
 * One (series, hour) of a PromQL read (sample-reads.ts). An hour the roller has
 * sealed (roller/hour-seal.ts) is read from its chunk, with the raw points of the
 * minutes queued since it was rolled (unrolled-minutes.ts) in their place; an hour
 * without a chunk, from its raw points. Special samples come from the chunk where
 * there is one, and from their own table for the unrolled minutes and the hours
 * without one (specialNeeded).
 */
import { decodeChunk } from '../domain/chunk-codec.js';
import type { SamplesQuery, SpecialValue } from '../domain/point.js';
import { mergeSamples } from '../domain/sample-merge.js';
import { unseal } from '../domain/sealed-samples.js';
import type { RangeReader } from '../storage/ports.js';
import { MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';
import { firstAtOrAfter } from '../time/windows.js';

/** One (query, hour): its points and the special samples of its chunk, set once read. */
export interface PointRead {
  readonly query: number;
  readonly partition: number;
  ts: ArrayLike<number>;
  values: ArrayLike<number>;
  special: SpecialValue[];
}

export interface HourRead {
  readonly reader: RangeReader;
  readonly query: SamplesQuery;
  readonly chunk: Uint8Array | undefined;
  /** Epoch minutes of the metric queued since they were last rolled. */
  readonly unrolled: ReadonlySet<number>;
  /** Counts samples as they are loaded; throws past the query's bound. */
  readonly take: (count: number) => void;
}

/** Reads one hour's samples within the query's range into `read`. */
export async function readHour(hour: HourRead, read: PointRead): Promise<void> {
  const { reader, query, chunk, take } = hour;
  const fromMs = Math.max(query.fromMs, read.partition * MS_PER_HOUR);
  const toMs = Math.min(query.toMs + 1, (read.partition + 1) * MS_PER_HOUR);
  const raw = { ts: [] as number[], values: [] as number[] };
  const scan = (from: EpochMs, to: EpochMs): Promise<number> =>
    reader.scanPoints(query.metricId, read.partition, from, to, (ts, value) => {
      take(1);
      raw.ts.push(ts);
      raw.values.push(value);
    });
  if (chunk === undefined) {
    await scan(fromMs, toMs);
    [read.ts, read.values] = [raw.ts, raw.values];
    return;
  }
  for (const run of unrolledRuns(hour.unrolled, fromMs, toMs)) await scan(run.fromMs, run.toMs);
  const sealed = decodeChunk(chunk);
  const [first, end] = [firstAtOrAfter(sealed.ts, fromMs), firstAtOrAfter(sealed.ts, toMs)];
  take(end - first);
  const inRange = unseal(sealed, first, end);
  const merged = raw.ts.length === 0 ? inRange : mergeSamples(inRange, raw);
  [read.ts, read.values, read.special] = [merged.ts, merged.values, inRange.special];
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
