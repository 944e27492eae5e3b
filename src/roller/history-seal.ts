/**
 * Sealing history. Hours written before sealed chunks existed (by an earlier
 * version, or copied from an older layout's `points` by storage/cassandra/upgrade.ts)
 * have raw rows and no chunk: readers read them from their rows, exactly but
 * slowly. Once per keyspace, the roller that holds shard 0 lists every hour
 * partition of raw points and seals each that is over and has no chunk, as any
 * hour is sealed (hour-seal.ts), reminds the roller of each still open (as
 * rolling an open hour does), then records it in meta (META_KEYS.historySealed).
 * It waits for a copy of `points` under way to finish. A pass cut short (the roller
 * stopped, or lost shard 0) is started again from the top by whoever holds shard
 * 0 next; the hours it sealed are skipped.
 *
 * Beside the rolling it is safe: a history seal is written as of the start of its
 * reads less the clock margin, so a seal whose reads began later (a late write's
 * reseal, on any roller's clock) wins over it, and a late write's minutes are
 * queued before its points are written, so readers read them raw until then.
 *
 * Those hours' rows carry no TTL: sealed, they would stay beside their chunks for
 * ever. Once history is sealed, the roller that holds shard 0 drops them
 * (dropHistoryRows), hour by hour, as of a time every chunk holds them:
 * - A row written by then (history sealed, less a write's longest hold and the
 *   clock margin) had its minutes queued in a slot before the one history was
 *   sealed in. Once every shard is rolled past that slot and past the one the
 *   hour's seal was due in, each such row is in the hour's chunk: read by its
 *   first seal, or by the reseal of the minutes queued since. Later writes stay.
 * - A read that found the hour without a chunk and reads its rows after the drop
 *   would miss them: an hour is dropped once its chunk is DROP_AFTER_MS old, far
 *   longer than a search (its deadline) or the roll of a day takes.
 * Only partitions whose first row has no TTL are dropped (this version's rows
 * expire on their own), and none while raw rows are kept forever (the caller).
 * An hour with no chunk though its seal was rolled holds rows no minute was queued
 * for (written past the API): readers read them raw, so they stay, and do not hold
 * the pass open. Rows past raw retention all go, chunk or not, as the TTL would.
 * Time-window compaction never meets the tombstones with the rows they shadow:
 * `nodetool garbagecollect` frees their disk (README).
 */
import { forEachBounded } from '../concurrency.js';
import { chunkPeriod } from '../domain/partitions.js';
import { META_KEYS, type HistoryStore, type SampleHour } from '../storage/history-ports.js';
import { SHARDS, slotOf } from '../rollup/roll-queue.js';
import { dayBucket } from '../time/day-bucket.js';
import { MS_PER_HOUR, type EpochMs } from '../time/units.js';
import { isOver, noHourPoints, SEAL_AFTER_MS, SealReminders, sealHour } from './hour-seal.js';

export interface HistoryPass {
  readonly store: HistoryStore;
  readonly clock: () => EpochMs;
  /** How far apart two processes' clocks may be (roll-queue.ts clockMarginMs). */
  readonly marginMs: number;
  /** Hours sealed at once. */
  readonly concurrency: number;
  /** Whether the pass may go on: false once the roller stops, is refused by its clock, or lost shard 0. */
  readonly mayGoOn: () => boolean;
}

/** What a pass did: hour partitions listed, and hours sealed. */
export interface HistoryReport {
  readonly hours: number;
  readonly sealed: number;
}

/** Hour partitions checked per round of sealing. */
const ROUND = 256;

/** Whether history is sealed, left to seal, or must wait: a copy of an older layout's points is under way. */
export async function historyState(store: HistoryStore): Promise<'sealed' | 'pending' | 'waiting'> {
  if ((await store.readMeta(META_KEYS.historySealed)) !== undefined) return 'sealed';
  if ((await store.readMeta(META_KEYS.legacyCopyStarted)) === undefined) return 'pending';
  return (await store.readMeta(META_KEYS.legacyCopied)) === undefined ? 'waiting' : 'pending';
}

/** One pass over every hour of raw points; undefined when cut short (nothing recorded then). */
export async function sealHistory(pass: HistoryPass): Promise<HistoryReport | undefined> {
  const { store, clock } = pass;
  let [hours, sealed] = [0, 0];
  let round: SampleHour[] = [];
  // An hour still open is left to the roller, reminded to seal it once it is over.
  const reminders = new SealReminders();
  const sealRound = async (): Promise<void> => {
    await forEachBounded(round, pass.concurrency, async ({ metricId, hour }) => {
      if (pass.mayGoOn() && (await sealIfUnsealed(pass, reminders, metricId, hour))) sealed++;
    });
    round = [];
  };
  for await (const partition of store.sampleHours()) {
    if (!pass.mayGoOn()) return undefined;
    hours++;
    const start = partition.hour * MS_PER_HOUR;
    if (isOver(partition.hour, clock())) round.push(partition);
    else await reminders.remind(store, partition.metricId, dayBucket(start), start);
    if (round.length === ROUND) await sealRound();
  }
  await sealRound();
  if (!pass.mayGoOn()) return undefined;
  await store.writeMeta(META_KEYS.historySealed, new Date(clock()).toISOString());
  return { hours, sealed };
}

/** Seals an hour that has no chunk yet; true when it wrote one. */
async function sealIfUnsealed(
  { store, clock, marginMs }: HistoryPass,
  reminders: SealReminders,
  metricId: string,
  hour: number,
): Promise<boolean> {
  const [stored] = await store.readChunksAt(metricId, chunkPeriod(hour), [hour]);
  if (stored !== undefined) return false;
  const nowMs = clock();
  const context = { store, reminders, nowMs, asOfUs: (nowMs - marginMs) * 1000 };
  return sealHour(context, metricId, hour, undefined, noHourPoints());
}

/** How old an hour's chunk is before its rows are dropped: far longer than any read that found the hour unsealed takes. */
export const DROP_AFTER_MS = MS_PER_HOUR;

export interface DropPass extends HistoryPass {
  /** When history was sealed (META_KEYS.historySealed). */
  readonly sealedAtMs: EpochMs;
  /** The longest hold a worker gives a write (write-holds.ts maxHoldMs). */
  readonly maxHoldMs: number;
  /** How long points are kept (MEETR_RETENTION_RAW), forever when undefined: rows of an hour past it go, chunk or not. */
  readonly rawRetentionMs: number | undefined;
}

/**
 * What a drop did: hour partitions listed, hours dropped, hours left for a later
 * pass (sealed too recently, or their seal not rolled yet), and hours with no
 * chunk though their seal was rolled, kept as rows (readers read them raw: rows
 * written past the API, which queued no minute).
 */
export interface DropReport {
  readonly hours: number;
  readonly dropped: number;
  readonly left: number;
  readonly unsealed: number;
}

/** When history was sealed, while its rows are left to drop; undefined before it is sealed and once they are dropped. */
export async function historyToDrop(store: HistoryStore): Promise<EpochMs | undefined> {
  if ((await store.readMeta(META_KEYS.historyDropped)) !== undefined) return undefined;
  const sealed = await store.readMeta(META_KEYS.historySealed);
  return sealed === undefined ? undefined : Date.parse(sealed);
}

/**
 * One pass over every hour of raw points, dropping the rows of sealed hours that
 * carry no TTL; records it in meta when no hour was left. Undefined when cut short,
 * or too early: not every shard is rolled past the slot history was sealed in.
 */
export async function dropHistoryRows(pass: DropPass): Promise<DropReport | undefined> {
  const { store, sealedAtMs, maxHoldMs, marginMs } = pass;
  let rolledThrough = Infinity;
  for (let shard = 0; shard < SHARDS; shard++)
    rolledThrough = Math.min(rolledThrough, await store.rolledThrough(shard));
  if (slotOf(sealedAtMs + maxHoldMs + marginMs) >= rolledThrough) return undefined;
  const asOfUs = (sealedAtMs - maxHoldMs - marginMs) * 1000;
  const counts = { hours: 0, dropped: 0, left: 0, unsealed: 0, kept: 0 };
  let round: SampleHour[] = [];
  const dropRound = async (): Promise<void> => {
    await forEachBounded(round, pass.concurrency, async ({ metricId, hour }) => {
      if (!pass.mayGoOn()) return;
      counts[await dropIfHeld(pass, metricId, hour, rolledThrough, asOfUs)]++;
    });
    round = [];
  };
  for await (const partition of store.sampleHours()) {
    if (!pass.mayGoOn()) return undefined;
    counts.hours++;
    round.push(partition);
    if (round.length === ROUND) await dropRound();
  }
  await dropRound();
  if (!pass.mayGoOn()) return undefined;
  if (counts.left === 0) await store.writeMeta(META_KEYS.historyDropped, new Date(pass.clock()).toISOString());
  const { hours, dropped, left, unsealed } = counts;
  return { hours, dropped, left, unsealed };
}

/**
 * Drops an hour's rows as of `asOfUs` when they carry no TTL and its chunk holds
 * them; what it did. Past raw retention every row goes, as of now: no reader
 * reads them, and this version's rows there have expired.
 */
async function dropIfHeld(
  { store, clock, rawRetentionMs }: DropPass,
  metricId: string,
  hour: number,
  rolledThrough: number,
  asOfUs: number,
): Promise<'dropped' | 'kept' | 'left' | 'unsealed'> {
  if (!(await store.keptForever(metricId, hour))) return 'kept';
  const [hourEnd, now] = [(hour + 1) * MS_PER_HOUR, clock()];
  if (rawRetentionMs !== undefined && hourEnd + rawRetentionMs <= now) {
    await store.dropSampleHour(metricId, hour, now * 1000);
    return 'dropped';
  }
  if (slotOf(hourEnd + SEAL_AFTER_MS) >= rolledThrough) return 'left';
  const sealedAtUs = await store.chunkSealedAt(metricId, hour);
  if (sealedAtUs === undefined) return 'unsealed';
  if (sealedAtUs > (now - DROP_AFTER_MS) * 1000) return 'left';
  await store.dropSampleHour(metricId, hour, asOfUs);
  return 'dropped';
}
