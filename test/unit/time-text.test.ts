import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dayBucket } from '../../src/time/day-bucket.js';
import { fromZonedTime } from 'date-fns-tz';
import { daysInMonth, parseTimestamp } from '../../src/time/time-text.js';
import { firstInstantAtOrAfter, nextOffsetChange, zoneOffsetMs } from '../../src/time/zone.js';

const ms = (input: unknown, zone = 'UTC'): number => {
  const result = parseTimestamp(input, zone);
  if (!result.ok) throw new Error(result.message);
  return result.ms;
};
const rejects = (input: unknown, zone = 'UTC'): string => {
  const result = parseTimestamp(input, zone);
  if (result.ok) throw new Error(`accepted ${String(input)} as ${result.ms}`);
  return result.message;
};

describe('parseTimestamp: the forms of the contract', () => {
  const instant = Date.parse('2003-12-18T06:48:18.000Z'); // 12:18:18 in Asia/Kolkata

  it.each([
    '2003-12-18 12:18:18+0530',
    '2003-12-18 12:18:18+05:30',
    '2003-12-18T12:18:18+0530',
    '2003-12-18T12:18:18+05:30',
    '2003-12-18 12:18:18 0530', // a raw '+' decoded as a space
    '2003-12-18 12:18:18 05:30',
    '2003-12-18 12:18:18 +0530',
    '2003-12-18 06:48:18Z',
    '2003-12-18T06:48:18Z',
    '2003-12-18T06:48:18.000Z',
    '2003-12-18 01:48:18-0500',
    '1071730098',
    '1071730098.000',
    '1071730098000',
    ' 2003-12-18 12:18:18+0530 ',
  ])('%s is 2003-12-18T06:48:18Z', (text) => {
    expect(ms(text)).toBe(instant);
  });

  it('reads a naive timestamp in the default zone', () => {
    expect(ms('2003-12-18 12:18:18', 'Asia/Kolkata')).toBe(instant);
    expect(ms('2003-12-18 06:48:18', 'UTC')).toBe(instant);
    expect(ms('2003-12-18T07:48:18', 'Europe/Paris')).toBe(instant);
  });

  it('keeps milliseconds and truncates finer fractions', () => {
    expect(ms('2003-12-18 06:48:18.123Z')).toBe(instant + 123);
    expect(ms('2003-12-18 06:48:18.5Z')).toBe(instant + 500);
    expect(ms('2003-12-18 06:48:18.123987Z')).toBe(instant + 123);
    expect(ms('1071730098.123')).toBe(instant + 123);
    expect(ms(1071730098.123)).toBe(instant + 123);
    expect(ms(1071730098123)).toBe(instant + 123);
    expect(ms(1071730098)).toBe(instant);
  });

  it('accepts a date alone, and minutes without seconds', () => {
    expect(ms('2003-12-18')).toBe(Date.parse('2003-12-18T00:00:00Z'));
    expect(ms('2003-12-18', 'Asia/Kolkata')).toBe(Date.parse('2003-12-17T18:30:00Z'));
    expect(ms('2003-12-18 06:48Z')).toBe(Date.parse('2003-12-18T06:48:00Z'));
  });

  it('is DST-aware for naive times', () => {
    // New York: EST (-05:00) in winter, EDT (-04:00) in summer.
    expect(ms('2021-01-15 12:00:00', 'America/New_York')).toBe(Date.parse('2021-01-15T17:00:00Z'));
    expect(ms('2021-07-15 12:00:00', 'America/New_York')).toBe(Date.parse('2021-07-15T16:00:00Z'));
    // Either side of the spring-forward jump at 02:00 local.
    expect(ms('2021-03-14 01:59:59', 'America/New_York')).toBe(Date.parse('2021-03-14T06:59:59Z'));
    expect(ms('2021-03-14 03:00:00', 'America/New_York')).toBe(Date.parse('2021-03-14T07:00:00Z'));
    // The repeated hour at fall-back is read as its first occurrence (EDT).
    expect(ms('2021-11-07 01:30:00', 'America/New_York')).toBe(Date.parse('2021-11-07T05:30:00Z'));
    expect(ms('2021-11-07 03:00:00', 'America/New_York')).toBe(Date.parse('2021-11-07T08:00:00Z'));
  });

  it('handles leap days', () => {
    expect(ms('2024-02-29 12:00:00Z')).toBe(Date.parse('2024-02-29T12:00:00Z'));
    expect(ms('2000-02-29 00:00:00Z')).toBe(Date.parse('2000-02-29T00:00:00Z'));
    expect(rejects('2023-02-29 12:00:00')).toMatch(/no day 29/);
    expect(rejects('1900-02-29 12:00:00')).toMatch(/no day 29/);
  });

  it.each([
    ['2003-02-30 00:00:00', /no day 30/],
    ['2003-04-31 00:00:00', /no day 31/],
    ['2003-13-01 00:00:00', /month 13/],
    ['2003-00-10 00:00:00', /month 00/],
    ['2003-12-18 24:00:00', /no such time/],
    ['2003-12-18 12:60:00', /no such time/],
    ['2003-12-18 12:00:61', /no such time/],
    ['2003-12-18 12:00:00+1900', /offset/],
    ['2003-12-18 12:00:00+0575', /offset/],
    ['yesterday', /not a timestamp/],
    ['2003/12/18 12:00:00', /not a timestamp/],
    ['12345678901', /not a timestamp/], // 11 digits: neither seconds nor milliseconds
    ['-5', /not a timestamp/],
    ['1e9', /not a timestamp/],
    ['', /empty/],
  ])('rejects %s', (text, reason) => {
    expect(rejects(text)).toMatch(reason);
  });

  it('rejects non-string, non-number inputs and bad numbers', () => {
    expect(rejects(true)).toMatch(/string or a number/);
    expect(rejects({})).toMatch(/string or a number/);
    expect(rejects(Number.NaN)).toMatch(/non-negative/);
    expect(rejects(-1)).toMatch(/non-negative/);
    expect(rejects(1e20)).toMatch(/neither/);
  });
});

describe('parseTimestamp: properties', () => {
  const zones = ['UTC', 'Asia/Kolkata', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Pacific/Chatham'];
  const instants = fc.integer({ min: Date.parse('1970-01-01T00:00:00Z'), max: Date.parse('2200-12-31T23:59:59Z') });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.stringMatching(/^[0-9 :Tt.,+Zz-]{0,32}$/),
          fc.double(),
          fc.anything(),
        ),
        fc.constantFrom(...zones),
        (input, zone) => {
          const result = parseTimestamp(input, zone);
          if (result.ok) expect(Number.isFinite(result.ms)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reads every accepted form of the same instant as that instant', () => {
    fc.assert(
      fc.property(instants, fc.integer({ min: -12 * 60, max: 14 * 60 }), (instant, offsetMinutes) => {
        const iso = new Date(instant).toISOString(); // 2003-12-18T06:48:18.123Z
        const local = new Date(instant + offsetMinutes * 60_000).toISOString().slice(0, 23);
        const sign = offsetMinutes < 0 ? '-' : '+';
        const hh = String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, '0');
        const mm = String(Math.abs(offsetMinutes) % 60).padStart(2, '0');
        const forms = [
          iso,
          iso.replace('T', ' '),
          `${local}${sign}${hh}${mm}`,
          `${local.replace('T', ' ')}${sign}${hh}:${mm}`,
          ...(String(instant).length === 13 ? [String(instant)] : []),
          `${Math.floor(instant / 1000)}.${String(instant % 1000).padStart(3, '0')}`,
        ];
        if (sign === '+') forms.push(`${local.replace('T', ' ')} ${hh}${mm}`);
        for (const form of forms) expect(ms(form), form).toBe(instant);
      }),
      { numRuns: 500 },
    );
  });

  it('reads a naive wall-clock time back to the instant whose wall clock it is (outside DST gaps)', () => {
    fc.assert(
      fc.property(instants, fc.constantFrom(...zones), (instant, zone) => {
        const wall = new Intl.DateTimeFormat('sv-SE', {
          timeZone: zone,
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
          hourCycle: 'h23',
        }).format(instant);
        const parsed = ms(`${wall}.${String(instant % 1000).padStart(3, '0')}`, zone);
        // The same wall clock can name two instants at a fall-back; both must show that wall clock.
        const diff = Math.abs(parsed - instant);
        expect(diff === 0 || diff === 30 * 60_000 || diff === 60 * 60_000).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('one rule for offset changes (zone.ts), at every change of zones with odd ones', () => {
  // Half-hour and 45-minute offsets, changes at midnight, negative DST, a skipped day, 30-minute DST.
  const zones = [
    'Europe/Berlin',
    'America/New_York',
    'America/Havana',
    'America/Sao_Paulo',
    'Europe/Dublin',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
    'Pacific/Apia',
    'Asia/Tehran',
    'Africa/Casablanca',
    'Asia/Kathmandu',
  ];
  const changes = (zone: string): number[] => {
    const found: number[] = [];
    const until = Date.parse('2040-01-01T00:00:00Z');
    for (let at = 0; ;) {
      const change = nextOffsetChange(zone, at, zoneOffsetMs(zone, at), until);
      if (change === undefined) return found;
      found.push(change);
      at = change;
    }
  };
  const wallText = (wallMs: number): string => new Date(wallMs).toISOString().slice(0, 23);

  /** Wall-clock times around each change: every 20 minutes from 2 hours before to 2 hours after, and its edges to the ms. */
  const wallsAround = (zone: string, change: number): number[] => {
    const wallBefore = change + zoneOffsetMs(zone, change - 1);
    const wallAfter = change + zoneOffsetMs(zone, change);
    const walls = Array.from({ length: 13 }, (_, i) => wallBefore - 2 * 3_600_000 + i * 1_200_000);
    return [...walls, wallBefore - 1, wallBefore, wallAfter - 1, wallAfter];
  };

  it('reads a time shown once as date-fns-tz does, and a skipped or repeated one with the offset before the change', () => {
    const found = { once: 0, skipped: 0, repeated: 0, dateFnsTzDiffers: 0 };
    for (const zone of zones) {
      for (const change of changes(zone)) {
        const [before, after] = [zoneOffsetMs(zone, change - 1), zoneOffsetMs(zone, change)];
        for (const wall of wallsAround(zone, change)) {
          const text = wallText(wall);
          const reads = [wall - before, wall - after].filter((at) => at + zoneOffsetMs(zone, at) === wall);
          const parsed = ms(text, zone);
          if (new Set(reads).size === 1) {
            found.once++;
            expect(parsed, `${text} in ${zone}`).toBe(fromZonedTime(text, zone).getTime());
          } else {
            found[reads.length === 0 ? 'skipped' : 'repeated']++;
            expect(parsed, `${text} in ${zone}`).toBe(wall - before);
            if (fromZonedTime(text, zone).getTime() !== parsed) found.dateFnsTzDiffers++;
          }
          // A local day, hour or bucket begins at the first instant whose wall clock reads it or later.
          const first = firstInstantAtOrAfter(zone, wall);
          expect(first + zoneOffsetMs(zone, first), `${text} in ${zone}`).toBeGreaterThanOrEqual(wall);
          const earlier = first - 1_000; // offsets hold for whole seconds
          expect(earlier + zoneOffsetMs(zone, earlier) < wall || first + zoneOffsetMs(zone, first) === wall).toBe(true);
          expect(parsed).toBeGreaterThanOrEqual(first);
        }
      }
    }
    expect(found.once).toBeGreaterThan(10_000);
    expect(found.skipped).toBeGreaterThan(1_000);
    expect(found.repeated).toBeGreaterThan(1_000);
    // date-fns-tz 3.2.0, which read these before, reads most of them with the offset after the change east of UTC.
    console.log(`around every change: ${JSON.stringify(found)}`);
  }, 60_000);
});

describe('dayBucket and calendar facts', () => {
  it('buckets by UTC day, negative before 1970', () => {
    expect(dayBucket(0)).toBe(0);
    expect(dayBucket(86_399_999)).toBe(0);
    expect(dayBucket(86_400_000)).toBe(1);
    expect(dayBucket(-1)).toBe(-1);
    expect(dayBucket(Date.parse('2024-02-29T23:59:59.999Z')) + 1).toBe(dayBucket(Date.parse('2024-03-01T00:00:00Z')));
  });

  it('knows leap years', () => {
    expect([2000, 2004, 2024, 2400].map((y) => daysInMonth(y, 2))).toEqual([29, 29, 29, 29]);
    expect([1900, 2001, 2023, 2100].map((y) => daysInMonth(y, 2))).toEqual([28, 28, 28, 28]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), (year, month) => {
        const utc = new Date(0);
        utc.setUTCFullYear(year, month, 0);
        expect(daysInMonth(year, month)).toBe(utc.getUTCDate());
      }),
    );
  });
});
