/**
 * Wall clocks of IANA zones, from the runtime's own zone data (Intl): the offset at
 * an instant, the first instant of a wall-clock time, and ISO 8601 with the offset.
 * Offsets are whole seconds; a zone's offset changes at most a few times a year.
 */
import { MS_PER_DAY, MS_PER_SECOND, type EpochMs } from './units.js';

/** `name` if it is an IANA zone the runtime knows (as given: the runtime would spell Asia/Kolkata Asia/Calcutta), or undefined. */
export function knownTimeZone(name: string): string | undefined {
  if (name === '' || name.length > 64) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name }); // throws RangeError for an unknown zone
    return name;
  } catch {
    return undefined;
  }
}

/** One formatter per zone name; names are client input (in any letter case), so the cache is bounded. */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 1_000;

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (format === undefined) {
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  return format;
}

/** Milliseconds to add to the instant `ms` to read `zone`'s wall clock (+05:30 is 19,800,000). */
export function zoneOffsetMs(zone: string, ms: EpochMs): number {
  if (zone === 'UTC') return 0;
  const fields: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(ms)) fields[part.type] = part.value;
  const year = fields.era === 'BC' || fields.era === 'B' ? 1 - Number(fields.year) : Number(fields.year);
  const wall = new Date(0);
  wall.setUTCFullYear(year, Number(fields.month) - 1, Number(fields.day)); // keeps years 0-99 as they are
  wall.setUTCHours(Number(fields.hour), Number(fields.minute), Number(fields.second), 0);
  const wholeSecond = Math.floor(ms / MS_PER_SECOND) * MS_PER_SECOND;
  return wall.getTime() - wholeSecond;
}

/**
 * The first instant after `afterMs`, up to `untilMs`, at which `zone`'s offset is no
 * longer `offset`; undefined if it stays. Assumes at most one change per day.
 */
export function nextOffsetChange(
  zone: string,
  afterMs: EpochMs,
  offset: number,
  untilMs: EpochMs,
): EpochMs | undefined {
  if (zone === 'UTC') return undefined;
  for (let probe = afterMs; probe < untilMs;) {
    const next = Math.min(probe + MS_PER_DAY, untilMs);
    if (zoneOffsetMs(zone, next) !== offset) {
      // The change lies in (probe, next]. Offsets hold for whole seconds: search the
      // seconds, keeping `offset` at `low` and another at `high`.
      let low = Math.floor(probe / MS_PER_SECOND);
      let high = Math.floor(next / MS_PER_SECOND);
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (zoneOffsetMs(zone, middle * MS_PER_SECOND) === offset) low = middle;
        else high = middle;
      }
      return high * MS_PER_SECOND;
    }
    probe = next;
  }
  return undefined;
}

/**
 * The first instant at which `zone`'s wall clock reads `wallMs` (a wall-clock time
 * written as if it were UTC). A wall time that occurs twice (a fall-back) is its
 * earlier instant; one that never occurs (a spring-forward gap) is the instant the
 * clock jumps over it, the first that reads later.
 */
export function wallToInstant(zone: string, wallMs: EpochMs): EpochMs {
  if (zone === 'UTC') return wallMs;
  const before = zoneOffsetMs(zone, wallMs - MS_PER_DAY);
  const after = zoneOffsetMs(zone, wallMs + MS_PER_DAY);
  const candidates = [wallMs - before, wallMs - after].sort((a, b) => a - b);
  for (const instant of candidates) {
    if (instant + zoneOffsetMs(zone, instant) === wallMs) return instant;
  }
  // In a gap: the change that skips it lies between the two readings.
  const low = candidates[0]! - MS_PER_DAY;
  return nextOffsetChange(zone, low, zoneOffsetMs(zone, low), candidates[1]! + MS_PER_DAY) ?? candidates[0]!;
}

/** `ms` as ISO 8601 on `zone`'s wall clock with its offset: 2026-03-29T03:00:00+02:00. */
export function formatInZone(zone: string, ms: EpochMs): string {
  const offset = zoneOffsetMs(zone, ms);
  const wall = new Date(ms + offset).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  const fraction = ms % MS_PER_SECOND === 0 ? '' : wall.slice(19, 23);
  const sign = offset < 0 ? '-' : '+';
  const seconds = Math.abs(offset) / MS_PER_SECOND;
  const hhmm = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}`;
  return `${wall.slice(0, 19)}${fraction}${sign}${hhmm}${seconds % 60 === 0 ? '' : `:${pad(seconds % 60)}`}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
