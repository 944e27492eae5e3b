/**
 * Every grammar of time written as text, and the one way text becomes an instant:
 * - Meetr timestamps (`ts`, `from`, `to`): calendar text, epoch seconds or ms;
 * - Prometheus times (`time`, `start`, `end`): float seconds or RFC 3339;
 * - Prometheus durations (`5m`, `1h30m`, in PromQL and in `step`, `timeout`);
 * - series intervals (`interval`: `15m`, `1d`, `1M`).
 * A time written without an offset is read on a zone's wall clock by zone.ts's one
 * rule for offset changes. Pure: nothing here throws on input.
 */
import { clipped } from '../errors.js';
import { MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, type EpochMs } from './units.js';
import { instantOfWallClock } from './zone.js';

export type TimestampResult =
  { readonly ok: true; readonly ms: EpochMs } | { readonly ok: false; readonly message: string };

const CALENDAR =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|\s*([+-])(\d{2})(?::?(\d{2}))?|\s+(\d{2}):?(\d{2}))?)?$/;
const EPOCH_SECONDS = /^(\d{1,10})(?:\.(\d{1,9}))?$/;
const EPOCH_MILLISECONDS = /^\d{13}$/;

export const TIMESTAMP_FORMS =
  'YYYY-MM-DD[ HH:mm[:ss[.SSS]]][Z|+HHMM|+HH:MM] (T may replace the space), epoch seconds or epoch milliseconds';

/**
 * Reads a client timestamp into epoch milliseconds. A timestamp without an offset
 * is local time in `defaultTimeZone` (a time inside a spring-forward gap moves by
 * the gap, a repeated fall-back time is the earlier instant: zone.ts). Fractions
 * beyond the millisecond are truncated.
 */
export function parseTimestamp(input: unknown, defaultTimeZone: string): TimestampResult {
  if (typeof input === 'number') return parseEpochNumber(input);
  if (typeof input !== 'string') return fail('must be a string or a number');
  const text = input.trim();
  if (text === '') return fail('is empty');

  if (EPOCH_MILLISECONDS.test(text)) return { ok: true, ms: Number(text) };
  const epoch = EPOCH_SECONDS.exec(text);
  if (epoch !== null) return { ok: true, ms: Number(epoch[1]) * MS_PER_SECOND + fractionToMs(epoch[2]) };

  const match = CALENDAR.exec(text);
  if (match === null) return fail(`"${clipped(text)}" is not a timestamp; accepted: ${TIMESTAMP_FORMS}`);
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, offH, offM, spaceOffH, spaceOffM] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? '0');
  const minute = Number(mi ?? '0');
  const second = Number(s ?? '0');
  if (month < 1 || month > 12) return fail(`"${clipped(text)}" has month ${mo}, not 01-12`);
  if (day < 1 || day > daysInMonth(year, month))
    return fail(`"${clipped(text)}" is not a date: ${y}-${mo} has no day ${d}`);
  if (hour > 23 || minute > 59 || second > 59) return fail(`"${clipped(text)}" has no such time of day`);
  const millis = fractionToMs(fraction);
  const wallClock = utcMs(year, month, day, hour, minute, second, millis);

  let offsetMinutes: number | undefined;
  if (zulu !== undefined) offsetMinutes = 0;
  else if (sign !== undefined) offsetMinutes = (sign === '-' ? -1 : 1) * (Number(offH) * 60 + Number(offM ?? '0'));
  else if (spaceOffH !== undefined) offsetMinutes = Number(spaceOffH) * 60 + Number(spaceOffM); // a '+' that arrived as a space
  if (offsetMinutes !== undefined) {
    if (Math.abs(offsetMinutes) > 18 * 60 || Number(offM ?? spaceOffM ?? '0') > 59) {
      return fail(`"${clipped(text)}" has an impossible UTC offset`);
    }
    return { ok: true, ms: wallClock - offsetMinutes * MS_PER_MINUTE };
  }
  return { ok: true, ms: instantOfWallClock(defaultTimeZone, wallClock) };
}

/** Epoch milliseconds as the canonical ISO 8601 UTC string. */
export function formatEpochMs(ms: EpochMs): string {
  return new Date(ms).toISOString();
}

function parseEpochNumber(value: number): TimestampResult {
  if (!Number.isFinite(value) || value < 0) return fail('must be a non-negative epoch in seconds or milliseconds');
  if (Number.isInteger(value) && value >= 1e12 && value < 1e13) return { ok: true, ms: value };
  // Through the decimal text, so 1071750498.123 is 1071750498123 ms and not one off.
  const epoch = EPOCH_SECONDS.exec(String(value));
  if (epoch === null)
    return fail(`${value} is neither epoch seconds (up to 10 digits) nor epoch milliseconds (13 digits)`);
  return { ok: true, ms: Number(epoch[1]) * MS_PER_SECOND + fractionToMs(epoch[2]) };
}

function fractionToMs(fraction: string | undefined): number {
  return fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
}

function utcMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
): EpochMs {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, keeps years 0-99 as they are
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime();
}

/** Days in a month of the proleptic Gregorian calendar (leap years included). */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function fail(message: string): TimestampResult {
  return { ok: false, message };
}

/** Prometheus' own bounds of time, for a `start` or `end` left out. */
export const MIN_TIME_MS = -9_223_372_036_854;
export const MAX_TIME_MS = 9_223_372_036_854;

/** Float seconds as Go's ParseFloat reads them in a Prometheus time or duration parameter. */
const FLOAT_SECONDS = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const RFC_3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/i;

/** A Prometheus time: float seconds since the epoch or RFC 3339; in ms (rounded to the ms as Prometheus does). */
export function parsePrometheusTime(text: string): EpochMs | undefined {
  if (FLOAT_SECONDS.test(text.trim())) {
    const seconds = Number(text);
    const whole = Math.trunc(seconds);
    return Math.max(MIN_TIME_MS, Math.min(MAX_TIME_MS, whole * 1000 + Math.round((seconds - whole) * 1000)));
  }
  if (RFC_3339.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_UNITS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1_000, 1];

/** A Prometheus duration (`1h30m`, `5m`, `250ms`, units in that order) in ms; undefined when it is not one. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null || text === '') return undefined;
  return DURATION_UNITS.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * unit, 0);
}

/** A Prometheus API duration (`step`, `timeout`): float seconds or a Prometheus duration; in ms. */
export function parsePrometheusDuration(text: string): number | undefined {
  return FLOAT_SECONDS.test(text) ? Math.trunc(Number(text) * 1000) : parseDurationMs(text);
}

export type SeriesInterval =
  | { readonly text: string; readonly kind: 'fixed'; readonly ms: number }
  | { readonly text: string; readonly kind: 'day' | 'week' | 'month' };

export const INTERVAL_FORMS = 'Nm (1-1440), Nh (1-24), 1d, 1w or 1M';

/** Reads a series' `interval`: a fixed length of at most a day, or a calendar unit; undefined when it is neither. */
export function parseInterval(text: string): SeriesInterval | undefined {
  const match = /^([1-9]\d{0,3})([mhdwM])$/.exec(text.trim());
  if (match === null) return undefined;
  const [n, unit] = [Number(match[1]), match[2]];
  const canonical = `${n}${unit}`;
  if (unit === 'm' && n <= 1440) return { text: canonical, kind: 'fixed', ms: n * MS_PER_MINUTE };
  if (unit === 'h' && n <= 24) return { text: canonical, kind: 'fixed', ms: n * MS_PER_HOUR };
  if (n !== 1) return undefined;
  if (unit === 'd') return { text: canonical, kind: 'day' };
  if (unit === 'w') return { text: canonical, kind: 'week' };
  if (unit === 'M') return { text: canonical, kind: 'month' };
  return undefined;
}
