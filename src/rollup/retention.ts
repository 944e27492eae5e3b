/**
 * How long raw points and each rollup level are kept. Each row is written with a
 * TTL that makes it expire `retention` after the end of the time it covers (not
 * after it was written), so rows of one time window expire together and Time
 * Window Compaction drops whole SSTables of them.
 */
import type { LevelName } from './levels.js';
import { MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, type EpochMs } from '../time/units.js';

export interface Retention {
  /** Kept forever when undefined. */
  readonly raw: number | undefined;
  readonly levels: Readonly<Record<LevelName, number | undefined>>;
}

export const NO_RETENTION: Retention = { raw: undefined, levels: { '1m': undefined, '15m': undefined, '1h': undefined, '1d': undefined } };

/** Cassandra's largest TTL: 20 years. */
export const MAX_TTL_SECONDS = 630_720_000;

/**
 * A point must be at least this much younger than the raw retention to be written:
 * its minute is rolled up (within a few minutes) long before its raw point expires.
 */
export const RETENTION_WRITE_MARGIN_MS = MS_PER_HOUR;

/** The TTL (seconds; 0 is none) of a row about time up to `endMs`, kept `retentionMs` after it. */
export function ttlSeconds(endMs: EpochMs, retentionMs: number | undefined, nowMs: EpochMs): number {
  if (retentionMs === undefined) return 0;
  const seconds = Math.ceil((endMs + retentionMs - nowMs) / MS_PER_SECOND);
  return Math.min(MAX_TTL_SECONDS, Math.max(1, seconds));
}

/** The oldest ts a write may carry at `nowMs`, or undefined when raw points are kept forever. */
export function oldestWritable(retention: Retention, nowMs: EpochMs): EpochMs | undefined {
  return retention.raw === undefined ? undefined : nowMs - retention.raw + RETENTION_WRITE_MARGIN_MS;
}

const UNITS: Record<string, number> = { m: MS_PER_MINUTE, h: MS_PER_HOUR, d: MS_PER_DAY, w: 7 * MS_PER_DAY, y: 365 * MS_PER_DAY };

/** `30d`, `12h`, `52w`, `2y`, `90m`; `forever` (or empty) is undefined; anything else is null. */
export function parseRetention(text: string): number | undefined | null {
  if (text === '' || text === 'forever') return undefined;
  const match = /^(\d{1,6})([mhdwy])$/.exec(text);
  if (match === null) return null;
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  return ms > 0 ? ms : null;
}
