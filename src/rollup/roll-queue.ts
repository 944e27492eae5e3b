/**
 * How writes tell the roller what to recompute, and how searches know what it has
 * not recomputed yet.
 *
 * Before its points, a write queues the (metric, day, minutes) it touches in the
 * roll queue, under a slot: the 5-second window in which its hold ends. The hold is
 * a time by which the write has certainly landed or never will (its request's
 * deadline plus the storage timeout and clock margin). The roller takes a shard's
 * slots in order (several at once: GATHER_SLOTS), each once it is over, so every
 * write queued in it has landed;
 * it recomputes the rollups of the minutes queued there from the raw points and
 * only then records the slot as done (rolledThrough). Queue rows are never deleted
 * (they expire), so a search that reads a shard's rolledThrough first and then
 * every slot from there on sees every minute whose rollups may be stale, and reads
 * those minutes from the raw points instead.
 */
import { fnv1a } from '../domain/point.js';
import { MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, type EpochMs } from '../time/units.js';

/** Shards of the queue: the unit rollers lease. Fixed: changing it would strand queued work. */
export const SHARDS = 16;

export const SLOT_MS = 5 * MS_PER_SECOND;

/**
 * How many slots a roller process rolls as one (roller/roller.ts gatherSlots):
 * slots 3k to 3k + 2, once the last of them is over. Rolling a (metric, day) costs
 * about a dozen requests however few points it holds (its quarters, hours and day
 * read and written, its hours' chunks and special samples read, its chunks
 * written), so a metric written in all three is rolled once rather than three
 * times. A slot waits at most two slots (10 s) more for it; every shard's groups
 * end on the same slots, so a roller that has caught up shows no lag at all for a
 * slot's length after each group.
 */
export const GATHER_SLOTS = 3;

/**
 * How far apart the clocks of two processes may be: each is within maxSkewMs of
 * Cassandra's or refuses to write and roll (clock-watch.ts), so any two are within
 * twice that. A worker's hold is read on its clock, "the slot is over" on the
 * roller's, a search's last slot on its worker's: a slot is rolled this long after
 * it ends, and a search reads this much further ahead, so that any skew within the
 * bound leaves every write in a slot rolled after it and read before.
 */
export function clockMarginMs(maxSkewMs: number): number {
  return 2 * maxSkewMs;
}

/**
 * A worker reuses a queued minute for later writes while its hold still covers
 * them; holds are this much longer than one write needs, so live metrics queue a
 * minute about once per this long per worker rather than once per write.
 */
export const REUSE_MS = 10 * MS_PER_SECOND;

/**
 * After a write failed (its fate unknown), its minutes are queued again this much
 * later: Cassandra may still deliver it to replicas that missed it, as a hint, for
 * up to its max_hint_window (3 hours by default).
 */
export const UNCERTAIN_WRITE_HOLD_MS = 3 * MS_PER_HOUR;

/** Queue rows expire after this; a roller stopped for longer leaves minutes stale (see README). */
export const QUEUE_TTL_SECONDS = 30 * 24 * 3600;

export function slotOf(holdMs: EpochMs): number {
  return Math.floor(holdMs / SLOT_MS);
}

/** Whether every write queued in `slot` has landed (or never will) at `nowMs`, another process's clock being within `marginMs`. */
export function isSlotOver(slot: number, nowMs: EpochMs, marginMs: number): boolean {
  return (slot + 1) * SLOT_MS + marginMs <= nowMs;
}

/** The shard of a metric: FNV-1a of its id. */
export function shardOf(metricId: string): number {
  return fnv1a(metricId) % SHARDS;
}

/** The latest slot a write can queue in at `nowMs`, given the longest hold a worker gives (maxHoldMs) and the clock margin. */
export function lastPossibleSlot(nowMs: EpochMs, maxHoldMs: number, marginMs: number): number {
  return slotOf(nowMs + maxHoldMs + marginMs);
}

/** Epoch minute (ms / 60,000) of a day's minute. */
export function epochMinute(day: number, minuteOfDay: number): number {
  return day * (MS_PER_DAY / MS_PER_MINUTE) + minuteOfDay;
}

export const MINUTES_PER_DAY = MS_PER_DAY / MS_PER_MINUTE;
