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
 * Rows are left where they are: they carry no TTL, and deleting them would take
 * tombstones that time-window compaction never meets with the rows they shadow.
 */
import { forEachBounded } from '../concurrency.js';
import { chunkPeriod } from '../domain/partitions.js';
import { META_KEYS, type RollupStore, type SampleHour } from '../storage/ports.js';
import { dayBucket } from '../time/day-bucket.js';
import { MS_PER_HOUR, type EpochMs } from '../time/units.js';
import { isOver, noHourPoints, SealReminders, sealHour } from './hour-seal.js';

export interface HistoryPass {
  readonly store: RollupStore;
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
export async function historyState(store: RollupStore): Promise<'sealed' | 'pending' | 'waiting'> {
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
