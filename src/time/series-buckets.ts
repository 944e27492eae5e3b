/**
 * The buckets of a series: `interval` on a zone's wall clock. Fixed intervals (Nm,
 * Nh) start where the wall clock reads a multiple of the interval (counted from
 * 1970-01-01 00:00 on that clock, so from each midnight when the interval divides a
 * day); calendar intervals (1d, 1w, 1M) start at the first instant of a local day,
 * ISO week (Monday) or month. Across an offset change a bucket is as long as the
 * wall clock makes it: `1d` in Europe/Berlin is 23 or 25 hours, and at a fall-back
 * `1h` has two buckets whose wall clock reads 02:00, an hour apart.
 */
import type { SeriesInterval } from './time-text.js';
import { MS_PER_DAY, type EpochMs } from './units.js';
import { windowOf } from './windows.js';
import { firstInstantAtOrAfter, nextOffsetChange, zoneOffsetMs } from './zone.js';

/** More buckets than the caller allows; nothing was computed past the limit. */
export class TooManyBucketsError extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} buckets`);
  }
}

/** Boundaries computed between two calls of `pause` (about 5 ms of work for calendar intervals). */
const BOUNDARIES_PER_TURN = 256;

/**
 * The starts of every bucket that meets [fromMs, toMs], ascending, followed by the
 * end (exclusive) of the last one: n buckets are n + 1 instants. The first start is
 * at or before fromMs. Throws TooManyBucketsError past `maxBuckets`, having done
 * work in proportion to the limit only. Awaits `pause` every few hundred
 * boundaries, so a long series gives the event loop back while it is computed.
 */
export async function bucketBounds(
  interval: SeriesInterval,
  zone: string,
  fromMs: EpochMs,
  toMs: EpochMs,
  maxBuckets: number,
  pause: () => Promise<void> = async () => undefined,
): Promise<EpochMs[]> {
  const bounds: EpochMs[] = [];
  const next =
    interval.kind === 'fixed'
      ? fixedBoundaries(interval.ms, zone, fromMs)
      : calendarBoundaries(interval.kind, zone, fromMs);
  let seen = 0;
  for (const boundary of next) {
    if (++seen % BOUNDARIES_PER_TURN === 0) await pause();
    if (boundary <= fromMs)
      bounds[0] = boundary; // the last start at or before fromMs opens the series
    else if (bounds.length === 0)
      throw new Error(`no bucket boundary at or before ${fromMs}`); // the generators start early enough
    else {
      if (bounds.length > maxBuckets) throw new TooManyBucketsError(maxBuckets);
      bounds.push(boundary);
      if (boundary > toMs) return bounds;
    }
  }
  throw new Error('bucket boundaries ended'); // both generators are endless
}

/**
 * Fixed-length boundaries from a little before `fromMs` on: the instants where the
 * wall clock reads a multiple of `lengthMs`, or where an offset change lands it on one.
 */
function* fixedBoundaries(lengthMs: number, zone: string, fromMs: EpochMs): Generator<EpochMs> {
  // A bucket spans at most its length plus an offset change (under a day): start early enough to see its start.
  let at = fromMs - lengthMs - MS_PER_DAY;
  let offset = zoneOffsetMs(zone, at);
  for (;;) {
    const horizon = at + MS_PER_DAY;
    const change = nextOffsetChange(zone, at, offset, horizon);
    const end = change ?? horizon;
    // Wall-clock multiples of the length while the offset holds, in [at, end).
    for (let wall = Math.ceil((at + offset) / lengthMs) * lengthMs; wall - offset < end; wall += lengthMs)
      yield wall - offset;
    // The instant of a change starts a bucket only if its new wall time is a multiple: the next turn yields it then.
    if (change !== undefined) offset = zoneOffsetMs(zone, change);
    at = end;
  }
}

/** Calendar boundaries from the local day, week or month holding `fromMs` on: local midnights. */
function* calendarBoundaries(kind: 'day' | 'week' | 'month', zone: string, fromMs: EpochMs): Generator<EpochMs> {
  const wallDay = Math.floor((fromMs + zoneOffsetMs(zone, fromMs)) / MS_PER_DAY) * MS_PER_DAY;
  const local = new Date(wallDay);
  if (kind === 'week') local.setUTCDate(local.getUTCDate() - ((local.getUTCDay() + 6) % 7)); // back to Monday
  if (kind === 'month') local.setUTCDate(1);
  for (;;) {
    yield firstInstantAtOrAfter(zone, local.getTime());
    if (kind === 'day') local.setUTCDate(local.getUTCDate() + 1);
    else if (kind === 'week') local.setUTCDate(local.getUTCDate() + 7);
    else local.setUTCMonth(local.getUTCMonth() + 1);
  }
}

/** The index of the bucket holding `ms` in `bounds` (from bucketBounds), or -1 outside them. */
export function bucketIndex(bounds: readonly EpochMs[], ms: EpochMs): number {
  return windowOf(bounds, ms);
}
