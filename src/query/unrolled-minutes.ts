/**
 * The minutes a search must read as raw points because the roller has not rolled
 * them since they were written: the queued minutes of every slot after the one
 * the metric's shard is rolled through (roll-queue.ts).
 */
import { forEachBounded } from '../concurrency.js';
import { OverloadedError } from '../errors.js';
import { epochMinute, lastPossibleSlot, shardOf, SLOT_MS } from '../rollup/roll-queue.js';
import type { RangeReader } from '../storage/ports.js';
import type { EpochMs } from '../time/units.js';
import { checkScope, type WorkScope } from '../work-scope.js';

/** Roll-queue slots a search reads at most (a day of them): a roller further behind makes searches 503. */
const MAX_UNROLLED_SLOTS = 86_400_000 / SLOT_MS;

/** How far behind a search's known progress of a shard may lie (2 minutes of slots) before it asks for it first. */
const STALE_SLOTS = 24;

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
  private readonly reader: RangeReader;

  constructor(private readonly options: UnrolledMinutesOptions) {
    this.reader = options.reader;
  }

  /**
   * The minutes of [fromDay, toDay] that may have been written since their rollups
   * were computed, ascending. `fresh` asks the roller's progress even when a recent one is known.
   */
  async of(metricId: string, fromDay: number, toDay: number, scope: WorkScope, fresh = false): Promise<number[]> {
    const { clock, maxHoldMs, clockMarginMs, concurrency } = this.options;
    const shard = shardOf(metricId);
    const last = lastPossibleSlot(clock(), maxHoldMs, clockMarginMs);
    const progress = this.reader.rolledThrough(shard).then((slot) => {
      this.knownRolledThrough.set(shard, Math.max(slot, this.knownRolledThrough.get(shard) ?? slot));
      return slot;
    });
    const known = this.knownRolledThrough.get(shard);
    // Before the queue is read: every slot before it is rolled.
    const first = !fresh && known !== undefined && last - known < STALE_SLOTS ? known : await progress;
    progress.catch(() => undefined); // when not awaited: only a cache update
    if (last - first + 1 > MAX_UNROLLED_SLOTS) {
      throw new OverloadedError(
        'rollups_behind',
        `the roller is ${Math.round(((last - first) * SLOT_MS) / 60_000)} minutes behind for this metric; searches resume once it catches up (./meetr status)`,
      );
    }
    const minutes = new Set<number>();
    const slots = Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
    await forEachBounded(slots, concurrency, async (slot) => {
      checkScope(scope);
      for (const { day, minutes: list } of await this.reader.dirtyDays(shard, slot, metricId, fromDay, toDay)) {
        for (const minute of list) minutes.add(epochMinute(day, minute));
      }
    });
    return [...minutes].sort((a, b) => a - b);
  }
}
