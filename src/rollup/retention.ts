/**
 * How long raw points and each rollup level are kept. Each row is written with a
 * TTL that makes it expire `retention` after the end of the time it covers (not
 * after it was written), so rows of one time window expire together and Time
 * Window Compaction drops whole SSTables of them.
 */
import { DAY, HOUR, QUARTER, type Level, type LevelName } from './levels.js';
import { MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, type EpochMs } from '../time/units.js';

export interface Retention {
  /** Kept forever when undefined: raw points, as rows and in their sealed chunks. */
  readonly raw: number | undefined;
  /**
   * How long a raw row is kept after it is written (MEETR_RAW_KEEP), forever when
   * undefined: rows are a write-ahead layer for the chunks the roller seals
   * (roller/hour-seal.ts), which keep the points for `raw`.
   */
  readonly rawKeep?: number | undefined;
  readonly levels: Readonly<Record<LevelName, number | undefined>>;
}

export const NO_RETENTION: Retention = {
  raw: undefined,
  levels: { '15m': undefined, '1h': undefined, '1d': undefined },
};

/** Cassandra's largest TTL: 20 years. */
export const MAX_TTL_SECONDS = 630_720_000;

/**
 * A point must be at least this much younger than the raw retention to be written:
 * its quarter is rolled up (within a few minutes) long before its raw point expires.
 */
export const RETENTION_WRITE_MARGIN_MS = MS_PER_HOUR;

/** The earliest bucket start whose rollups at every level are surely still kept at `nowMs` (RETENTION_WRITE_MARGIN_MS of margin). */
export function rollupsKeptFrom(retention: Retention | undefined, nowMs: EpochMs): EpochMs {
  const kept = Object.values(retention?.levels ?? {}).filter((ms): ms is number => ms !== undefined);
  return kept.length === 0 ? -Infinity : nowMs - Math.min(...kept) + RETENTION_WRITE_MARGIN_MS;
}

/** The TTL (seconds; 0 is none) of a row about time up to `endMs`, kept `retentionMs` after it. */
export function ttlSeconds(endMs: EpochMs, retentionMs: number | undefined, nowMs: EpochMs): number {
  if (retentionMs === undefined) return 0;
  const seconds = Math.ceil((endMs + retentionMs - nowMs) / MS_PER_SECOND);
  return Math.min(MAX_TTL_SECONDS, Math.max(1, seconds));
}

/**
 * The TTL (seconds; 0 is none) of a raw row (a point or special sample at `ts`)
 * written at `nowMs`: MEETR_RAW_KEEP after the later of now and the end of its hour
 * (the roller seals an hour only once it is over, so a point dated in the future
 * keeps its row until then), or when raw retention ends, whichever is first. None
 * past Cassandra's largest TTL.
 */
export function rawTtlSeconds(retention: Retention, ts: EpochMs, nowMs: EpochMs): number {
  const kept = ttlSeconds(ts, retention.raw, nowMs);
  if (retention.rawKeep === undefined) return kept;
  const hourEnd = (Math.floor(ts / MS_PER_HOUR) + 1) * MS_PER_HOUR;
  const keep = Math.ceil((Math.max(nowMs, hourEnd) - nowMs + retention.rawKeep) / MS_PER_SECOND);
  if (keep > MAX_TTL_SECONDS) return kept;
  return kept === 0 ? keep : Math.min(kept, keep);
}

/** MEETR_RAW_KEEP's default: a roller stopped over a weekend still seals every hour before its rows expire. */
export const DEFAULT_RAW_KEEP_MS = 3 * MS_PER_DAY;

/** The shortest MEETR_RAW_KEEP: a roller a day behind makes searches refuse, long before its raw rows could expire unsealed. */
export const MIN_RAW_KEEP_MS = 2 * MS_PER_DAY;

/** The oldest ts a write may carry, and why no older one. */
export interface WriteFloor {
  readonly ms: EpochMs;
  /** Why an older point is refused, as an error message goes on after its timestamp. */
  readonly reason: string;
}

/** What the roller rebuilds each level's bucket from (roller/day-roll.ts): quarters from points, hours from quarters, the day from hours. */
const REBUILT_FROM: ReadonlyArray<readonly [Level, LevelName | 'raw']> = [
  [QUARTER, 'raw'],
  [HOUR, '15m'],
  [DAY, '1h'],
];

/**
 * The oldest ts a write may carry at `nowMs`, or undefined when nothing limits it.
 * A point's bucket of each level is rebuilt whole from the level below once it is
 * written: so the bucket must start after that level's rows expire (less the
 * margin), or the rebuilt bucket would lack what expired below it and overwrite a
 * copy kept longer (a day kept forever, rebuilt from hours kept 7 days).
 */
export function oldestWritable(retention: Retention, nowMs: EpochMs): WriteFloor | undefined {
  let floor: WriteFloor | undefined =
    retention.raw === undefined
      ? undefined
      : {
          ms: nowMs - retention.raw + RETENTION_WRITE_MARGIN_MS,
          reason: 'older than raw points are kept (MEETR_RETENTION_RAW)',
        };
  for (const [level, source] of REBUILT_FROM) {
    const kept = source === 'raw' ? retention.raw : retention.levels[source];
    if (kept === undefined) continue;
    const firstWhole = Math.ceil((nowMs - kept + RETENTION_WRITE_MARGIN_MS) / level.ms) * level.ms;
    if (floor === undefined || firstWhole > floor.ms) {
      const variable = `MEETR_RETENTION_${source.toUpperCase()}`;
      const from = source === 'raw' ? 'raw points' : `${source} rollups`;
      floor = {
        ms: firstWhole,
        reason: `in a ${level.name} rollup bucket that starts before the oldest ${from} it is rebuilt from (${variable})`,
      };
    }
  }
  return floor;
}

const UNITS: Record<string, number> = {
  m: MS_PER_MINUTE,
  h: MS_PER_HOUR,
  d: MS_PER_DAY,
  w: 7 * MS_PER_DAY,
  y: 365 * MS_PER_DAY,
};

/** `30d`, `12h`, `52w`, `2y`, `90m`; `forever` (or empty) is undefined; anything else is null. */
export function parseRetention(text: string): number | undefined | null {
  if (text === '' || text === 'forever') return undefined;
  const match = /^(\d{1,6})([mhdwy])$/.exec(text);
  if (match === null) return null;
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  return ms > 0 ? ms : null;
}
