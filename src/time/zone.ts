/**
 * Wall clocks of IANA zones, from the runtime's own zone data (Intl): the offset at
 * an instant, the instant of a wall-clock time (one rule for offset changes, at
 * readWallClock), and ISO 8601 with the offset. The only place that reads zones.
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
 * How a wall-clock reading of `zone` (a time of day written without an offset) is
 * an instant. meetr's one rule for offset changes: a reading the clock shows once is
 * that instant; one it skips (a spring-forward gap) or shows twice (a fall-back) is
 * read with the offset in force before the change. So a skipped time lands as far
 * past the gap as it lay inside it (02:30 on 2026-03-29 in Europe/Berlin is
 * 03:30+02:00), and a repeated time is its first occurrence. This is RFC 5545's rule
 * (§3.3.5), Python's zoneinfo with fold=0 and java.time's.
 * `jump` is, for a skipped reading, the instant at which the clock jumped over it.
 */
interface WallReading {
  readonly instant: EpochMs;
  readonly jump?: EpochMs;
}

/** `wallMs` is the wall-clock time written as if it were UTC. Assumes at most one offset change a day. */
function readWallClock(zone: string, wallMs: EpochMs): WallReading {
  if (zone === 'UTC') return { instant: wallMs };
  const before = zoneOffsetMs(zone, wallMs - MS_PER_DAY);
  const after = zoneOffsetMs(zone, wallMs + MS_PER_DAY);
  const [earlier, later] = [wallMs - before, wallMs - after].sort((a, b) => a - b) as [EpochMs, EpochMs];
  for (const instant of [earlier, later]) {
    if (instant + zoneOffsetMs(zone, instant) === wallMs) return { instant };
  }
  // Skipped: the change that jumps over it lies between the two readings.
  const low = earlier - MS_PER_DAY;
  const jump = nextOffsetChange(zone, low, zoneOffsetMs(zone, low), later + MS_PER_DAY);
  return { instant: wallMs - before, jump: jump ?? earlier };
}

/** The instant a client means by wall-clock time `wallMs` on `zone`'s clock, by the rule of readWallClock. */
export function instantOfWallClock(zone: string, wallMs: EpochMs): EpochMs {
  return readWallClock(zone, wallMs).instant;
}

/**
 * The first instant at which `zone`'s wall clock reads `wallMs` or later: where a
 * local day, week, month or bucket begins. A boundary needs no rule of its own: for
 * a reading the clock shows twice it is the earlier instant, for one it skips the
 * instant of the jump (so boundaries never run backwards).
 */
export function firstInstantAtOrAfter(zone: string, wallMs: EpochMs): EpochMs {
  const reading = readWallClock(zone, wallMs);
  return reading.jump ?? reading.instant;
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
