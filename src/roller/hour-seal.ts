/**
 * Sealing hours (cql/007_chunks.cql). Once an hour of a series is over, the roller
 * writes its points as one chunk (domain/chunk-codec.ts) whenever it rolls minutes
 * of it: the first time from the hour's raw points, later (a late write, an upsert)
 * as the stored chunk merged with the raw points of the minutes queued since, the
 * raw points winning. So an hour with a chunk holds, in its chunk and the raw
 * points of its unrolled minutes (query/unrolled-minutes.ts), every point written
 * to it; an hour without one is read from its raw points (storage/sealed-reads.ts).
 *
 * A minute rolled before its hour is over leaves the hour unsealed: the roller
 * queues that minute again in the slot in which the hour has been over for
 * SEAL_AFTER_MS, so the hour is sealed then even when nothing more is written to it.
 * Special samples (NaN, ±Inf, staleness markers) are sealed with the points
 * (domain/sealed-samples.ts): their writes queue their minutes too.
 */
import { encodeChunk } from '../domain/chunk-codec.js';
import type { SpecialValue } from '../domain/point.js';
import { mergeSamples, type SampleRun } from '../domain/sample-merge.js';
import { isPlain, sealable, unseal } from '../domain/sealed-samples.js';
import type { RawSpan } from '../rollup/levels.js';
import { shardOf, slotOf } from '../rollup/roll-queue.js';
import type { RollupStore, SealedChunk } from '../storage/ports.js';
import { decodeStored } from '../storage/sealed-reads.js';
import { dayBucket, dayStartMs } from '../time/day-bucket.js';
import { MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';

/** How long after its end an hour is sealed: the last scrape of an hour usually lands within it. */
export const SEAL_AFTER_MS = MS_PER_MINUTE;

/** The points of an hour's queued minutes as the roller read them (storage/sealed-reads.ts: its chunk's and raw ones), ascending. */
export interface HourPoints {
  readonly ts: number[];
  readonly values: number[];
  /** The spans of the hour read: these are every point in them. */
  readonly spans: RawSpan[];
}

/** An hour of which nothing is read yet. */
export const noHourPoints = (): HourPoints => ({ ts: [], values: [], spans: [] });

/** The reminders a roller queued, so that rolling an open hour again queues none twice. */
export class SealReminders {
  private readonly queued = new Set<string>();

  async remind(store: RollupStore, metricId: string, day: number, minuteMs: EpochMs): Promise<void> {
    const hour = Math.floor(minuteMs / MS_PER_HOUR);
    const key = `${hour}\u0000${metricId}`;
    if (this.queued.has(key)) return;
    const slot = slotOf((hour + 1) * MS_PER_HOUR + SEAL_AFTER_MS);
    const minute = (minuteMs - dayStartMs(day)) / MS_PER_MINUTE;
    await store.markDirty(shardOf(metricId), slot, [{ metricId, day, minutes: [minute] }]);
    // Bounded: forgetting only costs a reminder queued twice.
    if (this.queued.size >= 100_000) this.queued.clear();
    this.queued.add(key);
  }
}

export interface SealContext {
  readonly store: RollupStore;
  readonly reminders: SealReminders;
  /** Now, on the roller's clock. */
  readonly nowMs: EpochMs;
  readonly asOfUs: number;
}

/** What rolling one metric and day read, for sealing its hours. */
export interface RolledDay {
  readonly metricId: string;
  readonly day: number;
  /** The minutes rolled: ascending minute starts. */
  readonly queued: readonly EpochMs[];
  /** Those minutes' points by hour (their chunk's and raw ones). */
  readonly scanned: ReadonlyMap<number, HourPoints>;
  /** The stored chunks of the hours that are over, by hour. */
  readonly chunks: ReadonlyMap<number, Uint8Array>;
}

/** Whether `hour` is over at `nowMs`: it ended SEAL_AFTER_MS ago or more. */
export function isOver(hour: number, nowMs: EpochMs): boolean {
  return nowMs >= (hour + 1) * MS_PER_HOUR + SEAL_AFTER_MS;
}

/**
 * Seals the hours of a rolled day that are over, and queues reminders for the ones
 * still open; returns chunks written. The special samples of every hour sealed are
 * read at once (they share the day's partition), and the chunks are written
 * together (an unlogged batch per chunk partition).
 */
export async function sealHours(context: SealContext, rolled: RolledDay): Promise<number> {
  const { store, asOfUs } = context;
  const { metricId, day, queued, scanned, chunks } = rolled;
  const firstQueued = new Map<number, EpochMs>();
  for (const minute of queued) {
    const hour = Math.floor(minute / MS_PER_HOUR);
    if (!firstQueued.has(hour)) firstQueued.set(hour, minute);
  }
  const over: number[] = [];
  for (const [hour, minute] of firstQueued) {
    if (isOver(hour, context.nowMs)) over.push(hour);
    else await context.reminders.remind(store, metricId, day, minute);
  }
  if (over.length === 0) return 0;
  const [first, last] = [Math.min(...over), Math.max(...over)];
  const specials = new Map<number, SpecialValue[]>();
  for (const sample of await store.specialSamples(metricId, day, first * MS_PER_HOUR, (last + 1) * MS_PER_HOUR)) {
    const hour = Math.floor(sample.ts / MS_PER_HOUR);
    const ofHour = specials.get(hour);
    if (ofHour === undefined) specials.set(hour, [sample]);
    else ofHour.push(sample);
  }
  const sealed: SealedChunk[] = [];
  for (const hour of over) {
    const hourPoints = scanned.get(hour) ?? noHourPoints();
    const chunk = await sealedChunk(store, metricId, hour, chunks.get(hour), hourPoints, specials.get(hour) ?? []);
    if (chunk !== undefined) sealed.push(chunk);
  }
  if (sealed.length > 0) await store.writeChunks(metricId, sealed, asOfUs);
  return sealed.length;
}

/** Seals one hour (sealHours' work for a single hour, as history sealing needs it); true when a chunk was written. */
export async function sealHour(
  context: SealContext,
  metricId: string,
  hour: number,
  stored: Uint8Array | undefined,
  fresh: HourPoints,
): Promise<boolean> {
  const { store, asOfUs } = context;
  const fromMs = hour * MS_PER_HOUR;
  const specials = await store.specialSamples(metricId, dayBucket(fromMs), fromMs, fromMs + MS_PER_HOUR);
  const chunk = await sealedChunk(store, metricId, hour, stored, fresh, specials);
  if (chunk !== undefined) await store.writeChunks(metricId, [chunk], asOfUs);
  return chunk !== undefined;
}

/**
 * One hour's chunk: its points (the stored chunk's merged with `fresh`, or the
 * hour's raw points: `fresh` with the raw points of the rest of the hour, which is
 * the whole hour when rolling read none of it) and its special samples (the stored
 * chunk's merged with `specials`, all of the hour's in their table: they are few).
 * Undefined when the hour has neither.
 */
async function sealedChunk(
  store: RollupStore,
  metricId: string,
  hour: number,
  stored: Uint8Array | undefined,
  fresh: HourPoints,
  specials: readonly SpecialValue[],
): Promise<SealedChunk | undefined> {
  const [fromMs, toMs] = [hour * MS_PER_HOUR, (hour + 1) * MS_PER_HOUR];
  let points: SampleRun;
  // The chunk's special samples, those in their table (written since, or not expired yet) in their place.
  const special = new Map<number, SpecialValue>();
  if (stored !== undefined) {
    const chunk = decodeStored(stored, metricId, hour);
    const unsealed = unseal(chunk, 0, chunk.ts.length);
    points = mergeSamples(unsealed, fresh);
    for (const sample of unsealed.special) special.set(sample.ts, sample);
  } else {
    const rest = noHourPoints();
    for (const gap of gapsBetween(fresh.spans, fromMs, toMs)) {
      await store.scanPoints(metricId, hour, gap.fromMs, gap.toMs, (ts, value) => {
        rest.ts.push(ts);
        rest.values.push(value);
      });
    }
    points = fresh.ts.length === 0 ? rest : mergeSamples(rest, fresh);
  }
  for (const sample of specials) special.set(sample.ts, sample);
  if (points.ts.length === 0 && special.size === 0) return undefined;
  const sorted = [...special.values()].sort((a, b) => a.ts - b.ts);
  const { ts, values } = sealable(points, sorted);
  return { hour, bytes: encodeChunk(ts, values), plain: isPlain(points, sorted) };
}

/** The parts of [fromMs, toMs) that no span covers, ascending. */
export function gapsBetween(spans: readonly RawSpan[], fromMs: EpochMs, toMs: EpochMs): RawSpan[] {
  const gaps: RawSpan[] = [];
  let at = fromMs;
  for (const span of [...spans].sort((a, b) => a.fromMs - b.fromMs)) {
    if (span.fromMs > at) gaps.push({ fromMs: at, toMs: Math.min(span.fromMs, toMs) });
    at = Math.max(at, span.toMs);
    if (at >= toMs) return gaps;
  }
  if (at < toMs) gaps.push({ fromMs: at, toMs });
  return gaps;
}
