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

/** How far behind the last slot a progress asked within PROGRESS_KEPT_MS may lie (2 minutes of slots): a roller further behind moves on fast, so a search asks again. */
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
   * The first slot of each shard seen not rolled, the highest answer so far. Reading
   * the queue from an older slot than the roller's reads a superset of what is
   * unrolled, which is still exact: so within PROGRESS_KEPT_MS of asking, searches
   * read the queue from this answer (or wait for it) without asking again. Not
   * later: a progress seen while the roller was behind a large write would make a
   * search read all that write's minutes raw (a year of them took 2.9-4.7 s,
   * against 10-20 ms).
   */
  private readonly highest = new Map<number, number>();
  /** Each shard's progress last asked for: when, and its answer. */
  private readonly asked = new Map<number, { readonly at: EpochMs; readonly slot: Promise<number> }>();
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
    const first = await this.firstUnrolled(shard, fresh, now, last);
    if (last - first + 1 > MAX_UNROLLED_SLOTS) {
      throw new OverloadedError(
        'rollups_behind',
        `the roller is ${Math.round(((last - first) * SLOT_MS) / 60_000)} minutes behind for this metric; searches resume once it catches up (./meetr status)`,
      );
    }
    return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
  }

  /** The shard's first slot not rolled: the answer asked within PROGRESS_KEPT_MS, or a new one. */
  private async firstUnrolled(shard: number, fresh: boolean, now: EpochMs, last: number): Promise<number> {
    const asked = this.asked.get(shard);
    if (!fresh && asked !== undefined && now - asked.at < PROGRESS_KEPT_MS) {
      const slot = await asked.slot;
      if (last - slot < STALE_SLOTS) return slot;
    }
    const entry = {
      at: now,
      slot: this.reader.rolledThrough(shard).then((slot) => {
        const highest = Math.max(slot, this.highest.get(shard) ?? slot);
        this.highest.set(shard, highest);
        return highest;
      }),
    };
    this.asked.set(shard, entry);
    entry.slot.catch(() => {
      if (this.asked.get(shard) === entry) this.asked.delete(shard); // not read after all: the next search asks again
    });
    return entry.slot;
  }
}

/**
 * Slots cut into the runs one queue read takes (SLOTS_PER_QUEUE_READ): a roller
 * behind by an hour leaves 720 slots a shard to read, 45 statements instead of 720.
 */
function slotRuns(slots: readonly number[]): number[][] {
  return chunksWithin(slots, SLOTS_PER_QUEUE_READ, () => 0);
}
