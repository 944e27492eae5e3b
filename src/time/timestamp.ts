import { fromZonedTime } from 'date-fns-tz';
import { clipped } from '../errors.js';
import { MS_PER_MINUTE, MS_PER_SECOND, type EpochMs } from './units.js';

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
 * is local time in `defaultTimeZone` (DST-aware; a time inside a spring-forward gap
 * moves by the gap, an ambiguous fall-back time is the earlier instant). Fractions
 * beyond the millisecond are truncated. Never throws.
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
  if (defaultTimeZone === 'UTC') return { ok: true, ms: wallClock };
  const iso = `${y}-${mo}-${d}T${pad(hour)}:${pad(minute)}:${pad(second)}.${String(millis).padStart(3, '0')}`;
  return { ok: true, ms: fromZonedTime(iso, defaultTimeZone).getTime() };
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

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function fail(message: string): TimestampResult {
  return { ok: false, message };
}
