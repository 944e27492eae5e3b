import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketBounds, bucketIndex, TooManyBucketsError } from '../../src/time/series-buckets.js';
import { parseInterval, type SeriesInterval } from '../../src/time/time-text.js';
import { firstInstantAtOrAfter, formatInZone, zoneOffsetMs } from '../../src/time/zone.js';

const at = (iso: string): number => Date.parse(iso);
const interval = (text: string): SeriesInterval => parseInterval(text)!;
/** The bucket starts of a series as the API shows them. */
const starts = async (text: string, zone: string, from: string, to: string): Promise<string[]> =>
  (await bucketBounds(interval(text), zone, at(from), at(to), 10_000)).slice(0, -1).map((ms) => formatInZone(zone, ms));

describe('intervals', () => {
  it('reads fixed lengths up to a day and the calendar units', () => {
    expect(parseInterval('15m')).toEqual({ text: '15m', kind: 'fixed', ms: 900_000 });
    expect(parseInterval('24h')).toEqual({ text: '24h', kind: 'fixed', ms: 86_400_000 });
    expect(parseInterval('1440m')).toEqual({ text: '1440m', kind: 'fixed', ms: 86_400_000 });
    expect(parseInterval(' 1M ')).toEqual({ text: '1M', kind: 'month' });
    expect(parseInterval('1w')).toEqual({ text: '1w', kind: 'week' });
    for (const bad of [
      '',
      '0m',
      '1441m',
      '25h',
      '2d',
      '2w',
      '3M',
      '1s',
      '1y',
      'm',
      '01m',
      '1.5h',
      '-1h',
      '1 h',
      '99999m',
    ])
      expect(parseInterval(bad), bad).toBeUndefined();
  });
});

describe('zone clocks', () => {
  it('reads offsets, including :30 and :45 zones and the instant of a change', () => {
    expect(zoneOffsetMs('Asia/Kolkata', at('2026-01-01T00:00:00Z'))).toBe(330 * 60_000);
    expect(zoneOffsetMs('Asia/Kathmandu', at('2026-01-01T00:00:00Z'))).toBe(345 * 60_000);
    expect(zoneOffsetMs('Europe/Berlin', at('2026-03-29T00:59:59Z'))).toBe(3_600_000);
    expect(zoneOffsetMs('Europe/Berlin', at('2026-03-29T01:00:00Z'))).toBe(7_200_000);
    expect(zoneOffsetMs('America/New_York', at('0001-01-01T12:00:00Z'))).toBe(-(4 * 3600 + 56 * 60 + 2) * 1000); // local mean time
  });

  it('finds the first instant of a wall-clock time, in gaps and repeats too', () => {
    expect(firstInstantAtOrAfter('Europe/Berlin', at('2026-03-29T01:30:00Z'))).toBe(at('2026-03-29T00:30:00Z'));
    expect(firstInstantAtOrAfter('Europe/Berlin', at('2026-03-29T02:30:00Z'))).toBe(at('2026-03-29T01:00:00Z')); // skipped: the jump
    expect(firstInstantAtOrAfter('Europe/Berlin', at('2026-10-25T02:30:00Z'))).toBe(at('2026-10-25T00:30:00Z')); // twice: the first
    expect(firstInstantAtOrAfter('America/Havana', at('2026-03-08T00:00:00Z'))).toBe(at('2026-03-08T05:00:00Z')); // midnight skipped: 01:00 CDT
  });

  it('formats instants with the zone offset', () => {
    expect(formatInZone('UTC', at('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00+00:00');
    expect(formatInZone('Asia/Kathmandu', at('2026-01-01T00:15:00Z'))).toBe('2026-01-01T06:00:00+05:45');
    expect(formatInZone('America/New_York', at('2026-01-01T00:00:00.250Z'))).toBe('2025-12-31T19:00:00.250-05:00');
  });
});

describe('bucket bounds', () => {
  it('start on the local clock: :00 in UTC, :30 UTC in Kolkata, :15 UTC in Kathmandu', async () => {
    expect(await starts('1h', 'UTC', '2026-01-01T00:30:00Z', '2026-01-01T03:10:00Z')).toEqual([
      '2026-01-01T00:00:00+00:00',
      '2026-01-01T01:00:00+00:00',
      '2026-01-01T02:00:00+00:00',
      '2026-01-01T03:00:00+00:00',
    ]);
    expect(await starts('1h', 'Asia/Kolkata', '2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z')).toEqual([
      '2026-01-01T05:00:00+05:30',
      '2026-01-01T06:00:00+05:30',
    ]);
    expect(await starts('1h', 'Asia/Kathmandu', '2026-01-01T00:00:00Z', '2026-01-01T00:20:00Z')).toEqual([
      '2026-01-01T05:00:00+05:45',
      '2026-01-01T06:00:00+05:45',
    ]);
    expect(await starts('15m', 'UTC', '2026-01-01T00:14:59.999Z', '2026-01-01T00:15:00Z')).toEqual([
      '2026-01-01T00:00:00+00:00',
      '2026-01-01T00:15:00+00:00',
    ]);
  });

  it('make 23- and 25-hour days at DST changes', async () => {
    const spring = await bucketBounds(
      interval('1d'),
      'Europe/Berlin',
      at('2026-03-28T12:00:00Z'),
      at('2026-03-30T12:00:00Z'),
      10,
    );
    expect(spring.map((ms) => formatInZone('Europe/Berlin', ms))).toEqual([
      '2026-03-28T00:00:00+01:00',
      '2026-03-29T00:00:00+01:00',
      '2026-03-30T00:00:00+02:00',
      '2026-03-31T00:00:00+02:00',
    ]);
    expect(spring[2]! - spring[1]!).toBe(23 * 3_600_000);
    const fall = await bucketBounds(
      interval('1d'),
      'America/New_York',
      at('2026-11-01T12:00:00Z'),
      at('2026-11-01T13:00:00Z'),
      10,
    );
    expect(fall[1]! - fall[0]!).toBe(25 * 3_600_000);
  });

  it('give the repeated hour of a fall-back its own bucket, and skip the missing hour of a spring-forward', async () => {
    expect(await starts('1h', 'Europe/Berlin', '2026-10-25T00:30:00+02:00', '2026-10-25T03:30:00+01:00')).toEqual([
      '2026-10-25T00:00:00+02:00',
      '2026-10-25T01:00:00+02:00',
      '2026-10-25T02:00:00+02:00',
      '2026-10-25T02:00:00+01:00',
      '2026-10-25T03:00:00+01:00',
    ]);
    expect(await starts('1h', 'Europe/Berlin', '2026-03-29T00:30:00+01:00', '2026-03-29T03:30:00+02:00')).toEqual([
      '2026-03-29T00:00:00+01:00',
      '2026-03-29T01:00:00+01:00',
      '2026-03-29T03:00:00+02:00',
    ]);
    // Lord Howe moves by 30 minutes: the hour holding the change is an hour and a half.
    const lordHowe = await bucketBounds(
      interval('1h'),
      'Australia/Lord_Howe',
      at('2026-10-04T01:00:00+10:30'),
      at('2026-10-04T03:30:00+11:00'),
      10,
    );
    expect(lordHowe.map((ms) => formatInZone('Australia/Lord_Howe', ms))).toEqual([
      '2026-10-04T01:00:00+10:30',
      '2026-10-04T03:00:00+11:00',
      '2026-10-04T04:00:00+11:00',
    ]);
  });

  it('follow ISO weeks (Monday) and months', async () => {
    expect(await starts('1w', 'UTC', '2026-01-01T00:00:00Z', '2026-01-12T00:00:00Z')).toEqual([
      '2025-12-29T00:00:00+00:00',
      '2026-01-05T00:00:00+00:00',
      '2026-01-12T00:00:00+00:00',
    ]);
    expect(await starts('1M', 'Asia/Kolkata', '2024-01-31T20:00:00Z', '2024-03-01T00:00:00Z')).toEqual([
      '2024-02-01T00:00:00+05:30',
      '2024-03-01T00:00:00+05:30',
    ]);
    const feb = await bucketBounds(interval('1M'), 'UTC', at('2024-02-10T00:00:00Z'), at('2024-02-10T00:00:00Z'), 10);
    expect(feb[1]! - feb[0]!).toBe(29 * 86_400_000);
  });

  it('count buckets against the limit before computing more, pausing between turns', async () => {
    expect(await bucketBounds(interval('1m'), 'UTC', 0, 59_999, 1)).toEqual([0, 60_000]);
    await expect(bucketBounds(interval('1m'), 'UTC', 0, 60_000, 1)).rejects.toThrow(TooManyBucketsError);
    await expect(
      bucketBounds(interval('1m'), 'Europe/Berlin', -62_135_596_800_000, 253_402_300_799_999, 10_000),
    ).rejects.toThrow(TooManyBucketsError);
    let pauses = 0;
    const months = await bucketBounds(
      interval('1M'),
      'Europe/Berlin',
      at('1900-01-01T00:00:00Z'),
      at('2700-01-01T00:00:00Z'),
      10_000,
      async () => void pauses++,
    );
    expect(months).toHaveLength(9_602); // 9,601 months, 1900-01 to 2700-01
    expect(pauses).toBe(Math.floor(9_603 / 256)); // the month before 1900-01 is looked at too
  });

  it('index instants into their bucket', () => {
    const bounds = [0, 10, 20];
    expect([-1, 0, 9, 10, 19, 20].map((ms) => bucketIndex(bounds, ms))).toEqual([-1, 0, 0, 1, 1, -1]);
  });
});

describe('bucket bounds against a minute-by-minute reference', () => {
  const zones = [
    'UTC',
    'Europe/Berlin',
    'America/New_York',
    'Asia/Kolkata',
    'Asia/Kathmandu',
    'Australia/Lord_Howe',
    'America/Santiago',
  ];
  const wallFormat = new Map(
    zones.map((zone) => [
      zone,
      new Intl.DateTimeFormat('sv-SE', {
        timeZone: zone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }),
    ]),
  );
  /** The wall clock at `ms`, to the minute, as minutes since 1970-01-01 00:00 on that clock. */
  const wallMinutes = (zone: string, ms: number): number =>
    Date.parse(`${wallFormat.get(zone)!.format(ms).replace(' ', 'T')}:00Z`) / 60_000;
  const localDate = (zone: string, ms: number): string => wallFormat.get(zone)!.format(ms).slice(0, 10);
  /** Where the bucket holding `ms` starts: walking back minute by minute to where the wall clock reads a multiple. */
  const referenceFixedStart = (zone: string, minutes: number, ms: number): number => {
    let t = Math.floor(ms / 60_000) * 60_000;
    while (wallMinutes(zone, t) % minutes !== 0) t -= 60_000;
    return t;
  };
  /** Where the local day holding `ms` starts, walking back minute by minute. */
  const referenceDayStart = (zone: string, ms: number): number => {
    let t = Math.floor(ms / 60_000) * 60_000;
    while (localDate(zone, t - 60_000) === localDate(zone, ms)) t -= 60_000;
    return t;
  };
  const changeDays = [
    '2026-03-08',
    '2026-03-29',
    '2026-04-05',
    '2026-09-06',
    '2026-10-04',
    '2026-10-25',
    '2026-11-01',
    '2026-06-15',
  ];
  const instant = fc
    .tuple(
      fc.constantFrom(...changeDays),
      fc.integer({ min: -36 * 60, max: 36 * 60 }),
      fc.integer({ min: 0, max: 59_999 }),
    )
    .map(([day, minutes, ms]) => at(`${day}T00:00:00Z`) + minutes * 60_000 + ms);

  it('fixed intervals: every instant falls in the bucket the wall clock says', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...zones),
        fc.constantFrom(1, 7, 15, 30, 60, 120, 180),
        instant,
        fc.integer({ min: 0, max: 6 * 3_600_000 }),
        async (zone, minutes, from, length) => {
          const bounds = await bucketBounds(interval(`${minutes}m`), zone, from, from + length, 100_000);
          expect(bounds[0]).toBeLessThanOrEqual(from);
          expect(bounds[bounds.length - 1]).toBeGreaterThan(from + length);
          expect(bounds[bounds.length - 2]).toBeLessThanOrEqual(from + length);
          for (const ms of [from, from + length, from + Math.floor(length / 3)])
            expect(bounds[bucketIndex(bounds, ms)], `${zone} ${minutes}m ${new Date(ms).toISOString()}`).toBe(
              referenceFixedStart(zone, minutes, ms),
            );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('days: every bucket is one local date, from its first minute', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...zones),
        instant,
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        async (zone, from, length) => {
          const bounds = await bucketBounds(interval('1d'), zone, from, from + length, 100);
          for (let i = 0; i < bounds.length - 1; i++) {
            expect(bounds[i]).toBe(referenceDayStart(zone, bounds[i]! + 60_000));
            expect(localDate(zone, bounds[i + 1]! - 1)).toBe(localDate(zone, bounds[i]!));
            expect(localDate(zone, bounds[i + 1]!)).not.toBe(localDate(zone, bounds[i]!));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
