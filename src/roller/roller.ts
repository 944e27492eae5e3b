/**
 * The roller: keeps every metric's rollups equal to its raw points.
 *
 * It leases shards of the roll queue (roll-queue.ts) through lightweight
 * transactions on roll_shards, so several rollers share the work with nothing
 * but Cassandra between them, and takes each leased shard's slots in order, once
 * each is over, several as one (gatherSlots). For every (metric, day) queued in
 * them it recomputes the 15-minute buckets that hold the queued minutes from their
 * points, then the hours those fall in and the day, and only once all of it is
 * written records the slots as rolled (day-roll.ts).
 *
 * Every row is written as of when the reads it came from began, on this roller's
 * clock, and never earlier than any row this shard was given before: a roller
 * starts no work once its lease has run out on its own clock, and one that takes a
 * shard over stamps above the end of the lease it took over. So of two rollers
 * that computed the same bucket (a lease that changed hands, between clocks that
 * disagree) the later computation wins. A lease is taken over only once it ran out
 * by the clock margin too (roll-queue.ts clockMarginMs), so the two never overlap.
 * While the clock watch refuses (clock-watch.ts), the roller holds no lease and
 * rolls nothing.
 */
import { forEachBounded } from '../concurrency.js';
import { isSlotOver, SHARDS, SLOT_MS } from '../rollup/roll-queue.js';
import type { DirtyDay, RollupStore } from '../storage/ports.js';
import { type EpochMs } from '../time/units.js';
import { rollDay, type DayRolled } from './day-roll.js';
import { SealReminders } from './hour-seal.js';

export interface RollerOptions {
  readonly store: RollupStore;
  /** This roller's name in leases: unique per process. */
  readonly owner: string;
  /** (metric, day)s rolled at once. */
  readonly concurrency: number;
  /** How long a lease lasts unless kept. */
  readonly leaseMs?: number;
  readonly clock?: () => EpochMs;
  readonly telemetry?: RollerTelemetry;
  /** How far apart two processes' clocks may be (roll-queue.ts clockMarginMs). */
  readonly clockMarginMs: number;
  /** Why this roller may not roll now (its clock is off: clock-watch.ts), or undefined. */
  readonly refusal?: () => string | undefined;
  /** Slots of one shard rolled in a row before the next shard's turn. */
  readonly slotsPerTurn?: number;
  /**
   * Slots rolled as one: those from gatherSlots x k to the next multiple, once the
   * last is over (GATHER_SLOTS); 1 rolls each slot once it is over.
   */
  readonly gatherSlots?: number;
}

export interface RollerTelemetry {
  slotsRolled(count: number): void;
  dayRolled(rolled: DayRolled): void;
}

interface Owned {
  nextSlot: number;
  /** When the lease this roller holds runs out, on its clock: it starts no work after. */
  leaseUntilMs: EpochMs;
  /** The latest write time (µs) given to a rollup row of this shard: the next one is later. */
  stampUs: number;
}

export interface RollerStatus {
  readonly shards: readonly number[];
  /** Seconds since the oldest slot this roller owns that is over and not rolled ended; 0 when caught up. */
  readonly lagSeconds: number;
  /** The same, per shard held. */
  readonly shardLags: ReadonlyMap<number, number>;
}

/** A minute of slots: a shard's turn before the next shard's, and the most rolled at once. */
const SLOTS_PER_TURN = 12;

export class Roller {
  private readonly owned = new Map<number, Owned>();
  private readonly leaseMs: number;
  private readonly clock: () => EpochMs;
  private readonly margin: number;
  private readonly gatherSlots: number;
  /** Where the next pass starts: passes take shards in turn from here. */
  private cursor = 0;
  private readonly reminders = new SealReminders();

  constructor(private readonly options: RollerOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.clock = options.clock ?? Date.now;
    this.margin = options.clockMarginMs;
    this.gatherSlots = options.gatherSlots ?? 1;
    if (this.gatherSlots > (options.slotsPerTurn ?? SLOTS_PER_TURN))
      throw new Error('a roller gathers at most a turn of slots');
  }

  get status(): RollerStatus {
    const now = this.clock();
    const shardLags = new Map<number, number>();
    for (const [shard, { nextSlot }] of [...this.owned].sort(([a], [b]) => a - b)) {
      shardLags.set(
        shard,
        isSlotOver(nextSlot, now, this.margin) ? (now - (nextSlot + 1) * SLOT_MS - this.margin) / 1000 : 0,
      );
    }
    return { shards: [...shardLags.keys()], lagSeconds: Math.max(0, ...shardLags.values()), shardLags };
  }

  /** Why this roller may not roll now, if it may not. */
  get refusal(): string | undefined {
    return this.options.refusal?.();
  }

  /**
   * Takes free shards up to an even share, gives back any beyond it, and renews the
   * rest. While the clock is refused it drops every lease it holds (they run out,
   * and other rollers take them).
   */
  async balance(): Promise<void> {
    const { store, owner } = this.options;
    if (this.refusal !== undefined) {
      this.owned.clear();
      return;
    }
    const now = this.clock();
    await store.announceRoller(owner, Math.ceil((this.leaseMs * 2) / 1000));
    const alive = new Set(await store.liveRollers()).add(owner);
    const states = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => store.readShard(shard)));
    const share = Math.ceil(SHARDS / alive.size);
    for (const [shard, state] of states.entries()) {
      if (state.owner !== owner || state.leaseUntilMs <= now) this.owned.delete(shard);
    }
    for (const [shard, state] of states.entries()) {
      const mine = this.owned.get(shard);
      if (mine !== undefined && this.owned.size > share) {
        await this.release(shard);
      } else if (mine !== undefined) {
        if (await store.keepShard(shard, owner, now + this.leaseMs, mine.nextSlot))
          mine.leaseUntilMs = now + this.leaseMs;
        else this.owned.delete(shard);
      } else if (this.owned.size < share && (state.leaseUntilMs + this.margin <= now || state.owner === owner)) {
        // Its previous owner stamped nothing past the end of its lease (on its clock): stamps here start above it.
        if (await store.takeShard(shard, state, owner, now + this.leaseMs)) {
          this.owned.set(shard, {
            nextSlot: state.nextSlot,
            leaseUntilMs: now + this.leaseMs,
            stampUs: state.leaseUntilMs * 1000,
          });
        }
      }
    }
  }

  /** Gives a shard back: its lease ends now, on this clock, so whoever takes it stamps after every row written here. */
  async release(shard: number): Promise<void> {
    const mine = this.owned.get(shard);
    if (mine === undefined) return;
    this.owned.delete(shard);
    await this.options.store.keepShard(
      shard,
      this.options.owner,
      Math.max(this.clock(), Math.ceil(mine.stampUs / 1000) + 1),
      mine.nextSlot,
    );
  }

  /** Gives every shard back and withdraws its announcement (on shutdown): a roller started next takes them all at once. */
  async releaseAll(): Promise<void> {
    for (const shard of [...this.owned.keys()]) await this.release(shard).catch(() => undefined);
    await this.options.store.withdrawRoller(this.options.owner).catch(() => undefined);
  }

  /**
   * Rolls the slots that are over in the shards this roller holds, shards in turn,
   * at most slotsPerTurn of one before the next (a backlog in one shard does not
   * stall the others), the slots of a turn together, through the end of the last
   * group of gatherSlots that is over; returns how many slots it rolled.
   */
  async rollDue(shouldStop: () => boolean = () => false): Promise<number> {
    const perTurn = this.options.slotsPerTurn ?? SLOTS_PER_TURN;
    const stop = (): boolean => shouldStop() || this.refusal !== undefined;
    let rolled = 0;
    for (let progressed = true; progressed && !stop();) {
      progressed = false;
      const shards = [...this.owned.keys()].sort((a, b) => a - b);
      const first = shards.findIndex((shard) => shard >= this.cursor);
      for (const shard of [...shards.slice(Math.max(0, first)), ...shards.slice(0, Math.max(0, first))]) {
        if (stop()) break;
        this.cursor = shard + 1;
        const owned = this.owned.get(shard);
        if (owned === undefined) continue;
        const last = this.lastDueSlot(owned.nextSlot, perTurn);
        if (last === undefined) continue;
        if (!(await this.rollSlots(shard, owned, last))) {
          this.owned.delete(shard);
          continue;
        }
        rolled += last - owned.nextSlot + 1;
        owned.nextSlot = last + 1;
        progressed = true;
      }
    }
    return rolled;
  }

  /**
   * The last slot to roll now of at most `count` from `first` on: the end of the
   * last group of gatherSlots whose slots are all over; undefined when there is none.
   */
  private lastDueSlot(first: number, count: number): number | undefined {
    const now = this.clock();
    let last: number | undefined;
    for (let slot = first; slot < first + count && isSlotOver(slot, now, this.margin); slot++)
      if ((slot + 1) % this.gatherSlots === 0) last = slot;
    return last;
  }

  /**
   * Rolls a shard's slots from its next one through `last` as one: each (metric,
   * day) queued in any of them once, with the minutes queued in all. Then records
   * them as rolled; false when the lease was lost meanwhile (they are then another
   * roller's).
   */
  private async rollSlots(shard: number, owned: Owned, last: number): Promise<boolean> {
    const { store, owner, concurrency } = this.options;
    const slot = owned.nextSlot;
    const slots = Array.from({ length: last - slot + 1 }, (_, i) => slot + i);
    const days = mergeDays(await Promise.all(slots.map((queued) => store.slotDays(shard, queued))));
    let lost = false;
    // A big slot (a bulk import) may take longer than a lease: keep it while working.
    let keeping: Promise<unknown> = Promise.resolve();
    const keeper = setInterval(() => {
      const until = this.clock() + this.leaseMs;
      keeping = store.keepShard(shard, owner, until, slot).then(
        (kept) => {
          if (kept) owned.leaseUntilMs = until;
          else lost = true;
        },
        () => undefined,
      );
    }, this.leaseMs / 3);
    try {
      await forEachBounded(days, concurrency, async (day) => {
        // No work starts past the lease on this clock: a roller taking the shard over stamps above its end.
        if (this.clock() >= owned.leaseUntilMs) lost = true;
        if (lost) return;
        const asOfUs = this.stamp(owned);
        const context = { store, reminders: this.reminders, nowMs: this.clock(), asOfUs };
        const rolled = await rollDay(context, day);
        this.options.telemetry?.dayRolled(rolled);
      });
    } finally {
      clearInterval(keeper);
      await keeping; // so it cannot land after the progress recorded below
    }
    if (lost) return false;
    const until = this.clock() + this.leaseMs;
    const kept = await store.keepShard(shard, owner, until, last + 1);
    if (kept) {
      owned.leaseUntilMs = until;
      this.options.telemetry?.slotsRolled(slots.length);
    }
    return kept;
  }

  /** A write time for rollup rows of this shard: this clock, but later than any given before, whoever gave it. */
  private stamp(owned: Owned): number {
    owned.stampUs = Math.max(this.clock() * 1000, owned.stampUs + 1);
    return owned.stampUs;
  }

  /** Shards this roller holds and where each stands. */
  get shards(): ReadonlyMap<number, Readonly<Owned>> {
    return this.owned;
  }
}

/** The (metric, day)s of several slots, each once, with the minutes queued in any of them. */
export function mergeDays(slots: ReadonlyArray<readonly DirtyDay[]>): DirtyDay[] {
  if (slots.length === 1) return [...slots[0]!];
  const merged = new Map<string, { metricId: string; day: number; minutes: Set<number> }>();
  for (const days of slots) {
    for (const { metricId, day, minutes } of days) {
      const key = `${day}\u0000${metricId}`;
      const entry = merged.get(key);
      if (entry === undefined) merged.set(key, { metricId, day, minutes: new Set(minutes) });
      else for (const minute of minutes) entry.minutes.add(minute);
    }
  }
  return [...merged.values()].map(({ metricId, day, minutes }) => ({
    metricId,
    day,
    minutes: [...minutes].sort((a, b) => a - b),
  }));
}
