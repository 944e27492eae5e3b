/**
 * The roller: keeps every metric's rollups equal to its raw points.
 *
 * It leases shards of the roll queue (roll-queue.ts) through lightweight
 * transactions on roll_shards, so several rollers share the work with nothing
 * but Cassandra between them, and takes each leased shard's slots in order, once
 * each is over. For every (metric, day) queued in a slot it recomputes the queued
 * minutes from the raw points, then the 15-minute and hour buckets those minutes
 * fall in and the day, and only once all of it is written records the slot as
 * rolled. Every row is written as of when the reads it came from began, so of two
 * rollers that computed the same bucket (a lease that changed hands) the later
 * computation wins.
 */
import { combine, EMPTY_AGGREGATE, PointFold, type PartialAggregate } from '../domain/aggregate.js';
import { forEachBounded } from '../concurrency.js';
import { bucketStart, DAY, HOUR, MINUTE, periodOf, QUARTER, type Level } from '../rollup/levels.js';
import { epochMinute, isSlotOver, samplePartition, SHARDS, SLOT_MS, CLOCK_MARGIN_MS } from '../rollup/roll-queue.js';
import type { DirtyDay, RollupRow, RollupStore } from '../storage/ports.js';
import { MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';

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
}

export interface RollerTelemetry {
  slotRolled(): void;
  dayRolled(minutes: number, points: number, rows: number): void;
}

interface Owned {
  nextSlot: number;
}

export interface RollerStatus {
  readonly shards: readonly number[];
  /** Seconds since the oldest slot this roller owns that is over and not rolled ended; 0 when caught up. */
  readonly lagSeconds: number;
}

export class Roller {
  private readonly owned = new Map<number, Owned>();
  private readonly leaseMs: number;
  private readonly clock: () => EpochMs;

  constructor(private readonly options: RollerOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.clock = options.clock ?? Date.now;
  }

  get status(): RollerStatus {
    const now = this.clock();
    let lag = 0;
    for (const { nextSlot } of this.owned.values()) {
      if (isSlotOver(nextSlot, now)) lag = Math.max(lag, (now - (nextSlot + 1) * SLOT_MS - CLOCK_MARGIN_MS) / 1000);
    }
    return { shards: [...this.owned.keys()].sort((a, b) => a - b), lagSeconds: lag };
  }

  /** Takes free shards up to an even share, gives back any beyond it, and renews the rest. */
  async balance(): Promise<void> {
    const { store, owner } = this.options;
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
        this.owned.delete(shard);
        await store.keepShard(shard, owner, 0, mine.nextSlot); // released: anyone may take it now
      } else if (mine !== undefined) {
        if (!(await store.keepShard(shard, owner, now + this.leaseMs, mine.nextSlot))) this.owned.delete(shard);
      } else if (this.owned.size < share && (state.leaseUntilMs <= now || state.owner === owner)) {
        if (await store.takeShard(shard, state, owner, now + this.leaseMs)) this.owned.set(shard, { nextSlot: state.nextSlot });
      }
    }
  }

  /** Rolls every slot that is over in the shards this roller holds; returns how many slots it rolled. */
  async rollDue(shouldStop: () => boolean = () => false): Promise<number> {
    let rolled = 0;
    for (const [shard, owned] of this.owned) {
      while (!shouldStop() && isSlotOver(owned.nextSlot, this.clock())) {
        const kept = await this.rollSlot(shard, owned.nextSlot);
        if (!kept) {
          this.owned.delete(shard);
          break;
        }
        owned.nextSlot++;
        rolled++;
      }
    }
    return rolled;
  }

  /** Rolls one slot and records it as rolled; false when the lease was lost meanwhile (the slot is then another roller's). */
  private async rollSlot(shard: number, slot: number): Promise<boolean> {
    const { store, owner, concurrency } = this.options;
    const days = await store.slotDays(shard, slot);
    let lost = false;
    // A big slot (a bulk import) may take longer than a lease: keep it while working.
    let keeping: Promise<unknown> = Promise.resolve();
    const keeper = setInterval(() => {
      keeping = store.keepShard(shard, owner, this.clock() + this.leaseMs, slot).then(
        (kept) => (lost ||= !kept),
        () => undefined,
      );
    }, this.leaseMs / 3);
    try {
      await forEachBounded(days, concurrency, async (day) => {
        if (!lost) await this.rollDay(day);
      });
    } finally {
      clearInterval(keeper);
      await keeping; // so it cannot land after the progress recorded below
    }
    if (lost) return false;
    const kept = await store.keepShard(shard, owner, this.clock() + this.leaseMs, slot + 1);
    if (kept) this.options.telemetry?.slotRolled();
    return kept;
  }

  /** Recomputes the queued minutes of one metric and day, and the coarser buckets above them. */
  async rollDay({ metricId, day, minutes }: DirtyDay): Promise<void> {
    const { store } = this.options;
    const asOfUs = this.clock() * 1000; // before any read
    const dayStart = day * MS_PER_DAY;
    const queued = [...new Set(minutes)].sort((a, b) => a - b).map((minute) => epochMinute(day, minute) * MS_PER_MINUTE);
    /** The hours touched, and how many of their minutes are queued. */
    const queuedPerHour = new Map<EpochMs, number>();
    for (const start of queued) {
      const hour = bucketStart(HOUR, start);
      queuedPerHour.set(hour, (queuedPerHour.get(hour) ?? 0) + 1);
    }

    // The queued minutes from the raw points: one scan per run of consecutive minutes within a raw partition.
    const folds = new Map<EpochMs, PointFold>(queued.map((start) => [start, new PointFold()]));
    let points = 0;
    for (const run of runsOf(queued)) {
      points += await store.scanPoints(metricId, samplePartition(run.fromMs), run.fromMs, run.toMs, (ts, value) => {
        folds.get(bucketStart(MINUTE, ts))!.add(ts, value);
      });
    }
    const freshMinutes = new Map<EpochMs, PartialAggregate>();
    for (const [start, fold] of folds) freshMinutes.set(start, fold.partial);
    let rows = await this.write(metricId, MINUTE, day, freshMinutes, asOfUs);

    // Quarters and hours of the hours touched, from their minutes (stored, or just computed).
    const hours = [...queuedPerHour.keys()];
    const minuteRows = new Map<EpochMs, PartialAggregate>();
    // Hours whose every minute was just recomputed need no stored minutes.
    const partlyFresh = hours.filter((hour) => queuedPerHour.get(hour)! < MS_PER_HOUR / MS_PER_MINUTE);
    for (const run of runsOf(partlyFresh, MS_PER_HOUR)) {
      for (const row of await store.readRollups(metricId, MINUTE, day, run.fromMs, run.toMs)) minuteRows.set(row.start, row.aggregate);
    }
    for (const [start, aggregate] of freshMinutes) minuteRows.set(start, aggregate);
    const quarters = new Map<EpochMs, PartialAggregate>();
    const freshHours = new Map<EpochMs, PartialAggregate>();
    for (const hour of hours) {
      let hourTotal = EMPTY_AGGREGATE;
      for (let quarter = hour; quarter < hour + MS_PER_HOUR; quarter += QUARTER.ms) {
        let total = EMPTY_AGGREGATE;
        for (let minute = quarter; minute < quarter + QUARTER.ms; minute += MS_PER_MINUTE) total = combine(total, minuteRows.get(minute) ?? EMPTY_AGGREGATE);
        quarters.set(quarter, total);
        hourTotal = combine(hourTotal, total);
      }
      freshHours.set(hour, hourTotal);
    }
    rows += await this.write(metricId, QUARTER, periodOf(QUARTER, dayStart), quarters, asOfUs);
    rows += await this.write(metricId, HOUR, periodOf(HOUR, dayStart), freshHours, asOfUs);

    // The day, from its hours.
    const hourRows = new Map<EpochMs, PartialAggregate>();
    for (const row of await store.readRollups(metricId, HOUR, periodOf(HOUR, dayStart), dayStart, dayStart + MS_PER_DAY)) hourRows.set(row.start, row.aggregate);
    for (const [start, aggregate] of freshHours) hourRows.set(start, aggregate);
    let dayTotal = EMPTY_AGGREGATE;
    for (const aggregate of hourRows.values()) dayTotal = combine(dayTotal, aggregate);
    rows += await this.write(metricId, DAY, periodOf(DAY, dayStart), new Map([[dayStart, dayTotal]]), asOfUs);
    this.options.telemetry?.dayRolled(queued.length, points, rows);
  }

  /** Writes the buckets that hold points (a bucket without any has no row); returns how many. */
  private async write(metricId: string, level: Level, period: number, buckets: ReadonlyMap<EpochMs, PartialAggregate>, asOfUs: number): Promise<number> {
    const rows: RollupRow[] = [];
    for (const [start, aggregate] of buckets) if (aggregate.count > 0) rows.push({ start, aggregate });
    if (rows.length > 0) await this.options.store.writeRollups(metricId, level, period, rows, asOfUs);
    return rows.length;
  }

  /** Shards this roller holds and where each stands. */
  get shards(): ReadonlyMap<number, Readonly<Owned>> {
    return this.owned;
  }
}

/**
 * Ascending bucket starts of `width` as runs of consecutive buckets, [fromMs, toMs):
 * minutes (the default) within one raw partition each, so one scan reads a run.
 */
function runsOf(starts: readonly EpochMs[], width = MS_PER_MINUTE): Array<{ fromMs: EpochMs; toMs: EpochMs }> {
  const runs: Array<{ fromMs: EpochMs; toMs: EpochMs }> = [];
  const sameRun = (from: EpochMs, start: EpochMs): boolean => width !== MS_PER_MINUTE || samplePartition(from) === samplePartition(start);
  for (const start of starts) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.toMs === start && sameRun(last.fromMs, start)) last.toMs = start + width;
    else runs.push({ fromMs: start, toMs: start + width });
  }
  return runs;
}
