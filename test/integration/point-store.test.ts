import { describe, expect, it } from 'vitest';
import { EMPTY_AGGREGATE } from '../../src/domain/aggregate.js';
import { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import { migrate } from '../../src/storage/cassandra/migrate.js';
import { dayBucket } from '../../src/time/day-bucket.js';
import { useFreshKeyspace } from '../support/keyspace.js';
import { dayEntries } from '../support/services.js';

const ks = useFreshKeyspace();
const store = (): CassandraPointStore => new CassandraPointStore(ks.client, ks.keyspace);
const at = (iso: string): number => Date.parse(iso);

async function storedValues(metricId: string, day: number): Promise<Array<[number, number]>> {
  const result = await ks.client.execute(`SELECT ts, value FROM ${ks.keyspace}.points WHERE metric_id = ? AND day = ?`, [metricId, day]);
  return result.rows.map((row) => [(row.get('ts') as Date).getTime(), row.get('value') as number]);
}

describe('CassandraPointStore against a real Cassandra', () => {
  it('migrating twice is harmless', async () => {
    await expect(migrate(ks.client, ks.keyspace, ks.config.replication)).resolves.toBeGreaterThanOrEqual(3);
  });

  it('keeps points either side of a UTC midnight in their own day partitions', async () => {
    const before = at('2024-03-09T23:59:59.999Z');
    const after = at('2024-03-10T00:00:00.000Z');
    const [dayBefore, dayAfter] = [dayBucket(before), dayBucket(after)];
    expect(dayAfter).toBe(dayBefore + 1);
    await store().markDays('midnight', [dayBefore, dayAfter]);
    await store().writePartition('midnight', dayBefore, [{ metricId: 'midnight', ts: before, value: 1, writeTimeUs: 1 }]);
    await store().writePartition('midnight', dayAfter, [{ metricId: 'midnight', ts: after, value: 2, writeTimeUs: 1 }]);

    expect(await storedValues('midnight', dayBefore)).toEqual([[before, 1]]);
    expect(await storedValues('midnight', dayAfter)).toEqual([[after, 2]]);
    expect(await dayEntries(store(), 'midnight', dayBefore - 10, dayAfter + 10)).toEqual([
      { day: dayBefore, summary: undefined, heldUntilMs: undefined },
      { day: dayAfter, summary: undefined, heldUntilMs: undefined },
    ]);
    expect((await dayEntries(store(), 'midnight', dayAfter, dayAfter)).map((entry) => entry.day)).toEqual([dayAfter]);
    const wholeBefore = await store().aggregateDay('midnight', dayBefore, before - 1000, after);
    expect(wholeBefore).toMatchObject({ count: 1, sum: 1, min: 1, max: 1 });
  });

  it('stores a leap day and aggregates inclusive bounds inside Cassandra', async () => {
    const day = dayBucket(at('2024-02-29T00:00:00Z'));
    const points = [0, 1, 2, 3].map((i) => ({ metricId: 'leap', ts: at(`2024-02-29T12:00:0${i}Z`), value: i + 1, writeTimeUs: 1 }));
    await store().markDays('leap', [day]);
    await store().writePartition('leap', day, points);
    expect(await store().aggregateDay('leap', day, at('2024-02-29T12:00:01Z'), at('2024-02-29T12:00:02Z'))).toMatchObject({
      count: 2,
      sum: 5,
      min: 2,
      max: 3,
    });
    expect(await store().aggregateDay('leap', day, at('2024-02-29T00:00:00Z'), at('2024-02-29T23:59:59.999Z'))).toMatchObject({
      count: 4,
      sum: 10,
    });
    expect(await store().aggregateDay('leap', day, at('2024-02-29T13:00:00Z'), at('2024-02-29T14:00:00Z'))).toEqual(EMPTY_AGGREGATE);
  });

  it('round-trips values bit for bit, at millisecond precision', async () => {
    const values = [0.1 + 0.2, 1 / 3, Number.MAX_VALUE, Number.MIN_VALUE, -0, -123456789.000001, 2 ** 53 + 2];
    const base = at('1969-12-31T23:59:59.000Z');
    const day = dayBucket(base);
    expect(day).toBe(-1);
    const points = values.map((value, i) => ({ metricId: 'exact', ts: base + i * 7, value, writeTimeUs: 1 }));
    await store().writePartition('exact', day, points);
    const stored = await storedValues('exact', day);
    expect(stored.map(([ts]) => ts)).toEqual(points.map((p) => p.ts));
    stored.forEach(([, value], i) => expect(Object.is(value, values[i])).toBe(true));
  });

  it('keeps, of two writes of one (metric, ts), the one with the later write time, whichever lands last', async () => {
    const ts = at('2025-06-01T10:00:00.123Z');
    const day = dayBucket(ts);
    const now = Date.now() * 1000;
    await store().writePartition('upsert', day, [{ metricId: 'upsert', ts, value: 1, writeTimeUs: now }]);
    await store().writePartition('upsert', day, [{ metricId: 'upsert', ts, value: 42, writeTimeUs: now + 1 }]);
    expect(await storedValues('upsert', day)).toEqual([[ts, 42]]);
    // A replay of an older request lands late: it changes nothing.
    await store().writePartition('upsert', day, [{ metricId: 'upsert', ts, value: 7, writeTimeUs: now - 1_000_000 }]);
    expect(await storedValues('upsert', day)).toEqual([[ts, 42]]);
  });

  it('caches a day summary dated as of a time, and hides it behind a hold at or after that time only', async () => {
    const day = dayBucket(at('2024-07-01T00:00:00Z'));
    await store().markDays('summary', [day]);
    const summary = { count: 3, sum: 6, compensation: 0, min: 1, max: 3 };
    await store().saveDaySummaries('summary', [{ day, summary }], 1_000_000);
    expect(await dayEntries(store(), 'summary', day, day)).toEqual([{ day, summary }]);
    await store().holdDaySummaries('summary', [day], 999_999); // older than the summary: no effect
    expect((await dayEntries(store(), 'summary', day, day))[0]?.summary).toEqual(summary);
    await store().holdDaySummaries('summary', [day], 1_000_001);
    await store().holdDaySummaries('summary', [day], 1_000); // an earlier hold landing later shortens nothing
    expect(await dayEntries(store(), 'summary', day, day)).toEqual([{ day, summary: undefined, heldUntilMs: 1_000_001 }]);
    await store().saveDaySummaries('summary', [{ day, summary }], 1_000_000); // a late save of a stale summary stays hidden
    expect(await dayEntries(store(), 'summary', day, day)).toEqual([{ day, summary: undefined, heldUntilMs: 1_000_001 }]);
  });

  it('marks, summarizes and holds hundreds of days at once, in batches a cluster accepts', async () => {
    const days = Array.from({ length: 250 }, (_, i) => 19_000 + i);
    await store().markDays('many-days', days);
    const summary = { count: 1, sum: 2, compensation: 0, min: 2, max: 2 };
    await store().saveDaySummaries('many-days', days.map((day) => ({ day, summary })), Date.now() - 10_000);
    const entries = await dayEntries(store(), 'many-days', 0, 30_000);
    expect(entries.map((e) => e.day)).toEqual(days);
    expect(entries.every((e) => e.summary !== undefined)).toBe(true);
    await store().holdDaySummaries('many-days', days, Date.now());
    expect((await dayEntries(store(), 'many-days', 0, 30_000)).filter((e) => e.summary !== undefined)).toEqual([]);
  });

  it('keeps metrics apart, including ids that look like CQL', async () => {
    const ts = at('2025-06-02T00:00:00Z');
    const day = dayBucket(ts);
    const sneaky = "x'); DROP TABLE points; --";
    await store().writePartition(sneaky, day, [{ metricId: sneaky, ts, value: 7, writeTimeUs: 1 }]);
    expect(await storedValues(sneaky, day)).toEqual([[ts, 7]]);
    expect(await storedValues('x', day)).toEqual([]);
  });
});
