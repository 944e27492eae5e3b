/**
 * Which buckets of a search hold, in their rollups, the min, max and count of
 * every sample PromQL's `*_over_time` sees there (promql/rollup-windows.ts). A
 * bucket does when every hour it touches is sealed plain (roller/hour-seal.ts:
 * no NaN, ±Inf or -0 besides staleness markers), holds no minute the roller has
 * not rolled since it was written (a late point or special sample, which its
 * chunk and rollups do not hold yet), and its rollups are within their retention.
 * An hour sealed before plainness was recorded, or not sealed, is read as samples.
 */
import { chunkPeriod, HOURS_PER_CHUNK_PERIOD } from '../domain/partitions.js';
import type { RangeReader } from '../storage/ports.js';
import { MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';
import type { WorkScope } from '../work-scope.js';
import { checkScope } from '../work-scope.js';

/** The hours from `fromHour` that `bounds` touch, 1 where the hour is sealed plain. */
export interface PlainHours {
  readonly fromHour: number;
  readonly good: Uint8Array;
}

/** Which hours the buckets `bounds` gives (n + 1 ascending instants) touch are sealed plain: their chunks' marks, without the chunks. */
export async function plainHours(
  reader: RangeReader,
  metricId: string,
  bounds: readonly EpochMs[],
  scope: WorkScope,
): Promise<PlainHours> {
  const fromHour = Math.floor(bounds[0]! / MS_PER_HOUR);
  const toHour = Math.ceil(bounds[bounds.length - 1]! / MS_PER_HOUR);
  const good = new Uint8Array(toHour - fromHour);
  const periods: number[] = [];
  for (let period = chunkPeriod(fromHour); period <= chunkPeriod(toHour - 1); period++) periods.push(period);
  const marks = await Promise.all(
    periods.map((period) =>
      reader.readChunkMarks(
        metricId,
        period,
        Math.max(fromHour, period * HOURS_PER_CHUNK_PERIOD),
        Math.min(toHour, (period + 1) * HOURS_PER_CHUNK_PERIOD),
      ),
    ),
  );
  checkScope(scope);
  for (const { hour, plain } of marks.flat()) if (plain === true) good[hour - fromHour] = 1;
  return { fromHour, good };
}

/**
 * For the buckets `bounds` gives, 1 where the bucket's rollups answer PromQL
 * exactly: its hours plain, none holding one of `dirty` (the metric's unrolled
 * minutes, epoch minutes), and it starts at or after keptFromMs.
 */
export function plainBuckets(
  { fromHour, good: plainHour }: PlainHours,
  bounds: readonly EpochMs[],
  { dirty, keptFromMs }: { readonly dirty: Iterable<number>; readonly keptFromMs: EpochMs },
): Uint8Array {
  // good[h - fromHour] is 1 for a plain sealed hour with nothing unrolled.
  const good = Uint8Array.from(plainHour);
  for (const minute of dirty) {
    const hour = Math.floor((minute * MS_PER_MINUTE) / MS_PER_HOUR);
    if (hour >= fromHour && hour < fromHour + good.length) good[hour - fromHour] = 0;
  }
  // Good hours before each hour, so that a bucket's hours are counted at once.
  const before = new Uint32Array(good.length + 1);
  for (let i = 0; i < good.length; i++) before[i + 1] = before[i]! + good[i]!;
  const plain = new Uint8Array(bounds.length - 1);
  for (let i = 0; i < plain.length; i++) {
    const first = Math.floor(bounds[i]! / MS_PER_HOUR) - fromHour;
    const end = Math.ceil(bounds[i + 1]! / MS_PER_HOUR) - fromHour;
    plain[i] = bounds[i]! >= keptFromMs && before[end]! - before[first]! === end - first ? 1 : 0;
  }
  return plain;
}
