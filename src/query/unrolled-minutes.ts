/**
 * The minutes a search must read as raw points because the roller has not rolled
 * them since they were written: the queued minutes of every slot after the one
 * the metric's shard is rolled through (roll-queue.ts).
 */
import { forEachBounded } from '../concurrency.js';
import { OverloadedError } from '../errors.js';
import { epochMinute, lastPossibleSlot, shardOf, SLOT_MS } from '../rollup/roll-queue.js';
import { chunksWithin, METRICS_PER_QUEUE_READ, SLOTS_PER_QUEUE_READ, type RangeReader } from '../storage/ports.js';
import type { EpochMs } from '../time/units.js';
import { checkScope, type WorkScope } from '../work-scope.js';

/** Roll-queue slots a search reads at most (a day of them): a roller further behind makes searches 503. */
const MAX_UNROLLED_SLOTS = 86_400_000 / SLOT_MS;

/** How far behind a search's known progress of a shard may lie (2 minutes of slots) before it asks for it first. */
const STALE_SLOTS = 24;

/** How long a shard's progress, once read, is taken as known without asking again: dashboards' queries come many a second. */
const PROGRESS_KEPT_MS = 1_000;

export interface UnrolledMinutesOptions {
  readonly reader: RangeReader;
  /** Storage reads one search runs at once. */
  readonly concurrency: number;
  /** The longest hold a worker gives a write (roll-queue.ts): how far ahead of now queued slots may lie. */
  readonly maxHoldMs: number;
  /** How far apart two processes' clocks may be: the queue is read this much further ahead. */
  readonly clockMarginMs: number;
  readonly clock: () => EpochMs;
}

export class UnrolledMinutes {
  /**
   * The first slot of each shard last seen not rolled. It only grows, and reading
   * the queue from an older slot than the roller's reads a superset of what is
   * unrolled, which is still exact: so a search reads the queue from here while it
   * asks for the shard's progress, instead of one round trip after the other.
   */
  private readonly knownRolledThrough = new Map<number, number>();
  /** When each shard's progress was last read. */
  private readonly progressReadAt = new Map<number, EpochMs>();
  private readonly reader: RangeReader;

  constructor(private readonly options: UnrolledMinutesOptions) {
    this.reader = options.reader;
  }

  /**
   * The minutes of [fromDay, toDay] that may have been written since their rollups
   * were computed, ascending. `fresh` asks the roller's progress even when a recent one is known.
   */
  async of(metricId: string, fromDay: number, toDay: number, scope: WorkScope, fresh = false): Promise<number[]> {
    const shard = shardOf(metricId);
    const minutes = new Set<number>();
    await forEachBounded(slotRuns(await this.slotsToRead(shard, fresh)), this.options.concurrency, async (slots) => {
      checkScope(scope);
      for (const { day, minutes: list } of await this.reader.queuedFor(shard, slots, [metricId])) {
        if (day >= fromDay && day <= toDay) for (const minute of list) minutes.add(epochMinute(day, minute));
      }
    });
    return [...minutes].sort((a, b) => a - b);
  }

  /**
   * The epoch minutes of each metric that may have been written since the roller
   * last rolled (and sealed) them, any day: one queue read per shard for up to
   * SLOTS_PER_QUEUE_READ of its slots and METRICS_PER_QUEUE_READ metrics.
   */
  async ofMany(metricIds: readonly string[], scope: WorkScope): Promise<Map<string, Set<number>>> {
    const byShard = new Map<number, string[]>();
    for (const metricId of new Set(metricIds)) {
      const shard = shardOf(metricId);
      byShard.set(shard, [...(byShard.get(shard) ?? []), metricId]);
    }
    const reads: Array<{ shard: number; slots: number[]; metricIds: string[] }> = [];
    await forEachBounded([...byShard], this.options.concurrency, async ([shard, ids]) => {
      for (const slots of slotRuns(await this.slotsToRead(shard, false)))
        for (let i = 0; i < ids.length; i += METRICS_PER_QUEUE_READ)
          reads.push({ shard, slots, metricIds: ids.slice(i, i + METRICS_PER_QUEUE_READ) });
    });
    const minutes = new Map<string, Set<number>>(metricIds.map((metricId) => [metricId, new Set()]));
    await forEachBounded(reads, this.options.concurrency, async ({ shard, slots, metricIds: ids }) => {
      checkScope(scope);
      for (const { metricId, day, minutes: list } of await this.reader.queuedFor(shard, slots, ids)) {
        const set = minutes.get(metricId)!;
        for (const minute of list) set.add(epochMinute(day, minute));
      }
    });
    return minutes;
  }

  /** The slots of a shard a reader must read: from the first not rolled to the last a write can queue in now. */
  private async slotsToRead(shard: number, fresh: boolean): Promise<number[]> {
    const { clock, maxHoldMs, clockMarginMs } = this.options;
    const now = clock();
    const last = lastPossibleSlot(now, maxHoldMs, clockMarginMs);
    const known = this.knownRolledThrough.get(shard);
    const usable = !fresh && known !== undefined && last - known < STALE_SLOTS;
    let first: number;
    if (usable && now - (this.progressReadAt.get(shard) ?? -Infinity) < PROGRESS_KEPT_MS) first = known;
    else {
      this.progressReadAt.set(shard, now);
      const progress = this.reader.rolledThrough(shard).then((slot) => {
        this.knownRolledThrough.set(shard, Math.max(slot, this.knownRolledThrough.get(shard) ?? slot));
        return slot;
      });
      progress.catch(() => {
        this.progressReadAt.delete(shard); // not read after all: the next search asks again
      });
      // Before the queue is read: every slot before it is rolled.
      first = usable ? known : await progress;
    }
    if (last - first + 1 > MAX_UNROLLED_SLOTS) {
      throw new OverloadedError(
        'rollups_behind',
        `the roller is ${Math.round(((last - first) * SLOT_MS) / 60_000)} minutes behind for this metric; searches resume once it catches up (./meetr status)`,
      );
    }
    return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
  }
}

/**
 * Slots cut into the runs one queue read takes (SLOTS_PER_QUEUE_READ): a roller
 * behind by an hour leaves 720 slots a shard to read, 45 statements instead of 720.
 */
function slotRuns(slots: readonly number[]): number[][] {
  return chunksWithin(slots, SLOTS_PER_QUEUE_READ, () => 0);
}
