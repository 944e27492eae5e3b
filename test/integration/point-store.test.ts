import { describe, expect, it } from 'vitest';
import { PointFold } from '../../src/domain/aggregate.js';
import { ExactSum } from '../../src/domain/exact-sum.js';
import { DAY, periodOf, QUARTER } from '../../src/rollup/levels.js';
import { parseRetention } from '../../src/rollup/retention.js';
import { Roller } from '../../src/roller/roller.js';
import { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import { CATALOGUE_SHARDS, catalogueShardOf, partitionShareBytes, WRITE_BYTES } from '../../src/storage/ports.js';
import { seriesName } from '../../src/domain/series.js';
import { migrate } from '../../src/storage/cassandra/migrate.js';
import { catalogueStoredSeries, finishUpgrade, startUpgrade } from '../../src/storage/cassandra/upgrade.js';
import { MS_PER_DAY } from '../../src/time/units.js';
import { UNBOUNDED } from '../../src/work-scope.js';
import { useFreshKeyspace } from '../support/keyspace.js';
import { query } from '../support/search-query.js';
import { searchService, TEST_CLOCK_MARGIN_MS } from '../support/services.js';
import { samplePartition } from '../../src/domain/partitions.js';

const ks = useFreshKeyspace();
const store = (): CassandraPointStore => new CassandraPointStore(ks.client, ks.keyspace);
const at = (iso: string): number => Date.parse(iso);

async function storedValues(metricId: string, hour: number): Promise<Array<[number, number]>> {
  const result = await ks.client.execute(
    `SELECT ts, value FROM ${ks.keyspace}.samples WHERE metric_id = ? AND hour = ?`,
    [metricId, hour],
  );
  return result.rows.map((row) => [(row.get('ts') as Date).getTime(), row.get('value') as number]);
}

describe('CassandraPointStore against a real Cassandra', () => {
  it('migrating twice is harmless', async () => {
    await expect(migrate(ks.client, ks.keyspace, ks.config.replication)).resolves.toBeGreaterThanOrEqual(3);
  });

  it('keeps points either side of an hour in their own partitions, and scans half-open ranges', async () => {
    const before = at('2024-03-09T23:59:59.999Z');
    const after = at('2024-03-10T00:00:00.000Z');
    expect(samplePartition(after)).toBe(samplePartition(before) + 1);
    await store().writePartition('midnight', samplePartition(before), [
      { metricId: 'midnight', ts: before, value: 1, writeTimeUs: 1 },
    ]);
    await store().writePartition('midnight', samplePartition(after), [
      { metricId: 'midnight', ts: after, value: 2, writeTimeUs: 1 },
    ]);
    expect(await storedValues('midnight', samplePartition(before))).toEqual([[before, 1]]);
    expect(await storedValues('midnight', samplePartition(after))).toEqual([[after, 2]]);
    expect(await store().scanPoints('midnight', samplePartition(before), before - 5, before, () => undefined)).toBe(0);
    expect(await store().scanPoints('midnight', samplePartition(before), before - 5, before + 1, () => undefined)).toBe(
      1,
    );
  });

  it('round-trips values bit for bit, at millisecond precision', async () => {
    const ts = at('2024-02-29T12:00:00.123Z');
    const values = [Number.MIN_VALUE, -0.1, 1e308, 2 ** 53 + 2];
    await store().writePartition(
      'bits',
      samplePartition(ts),
      values.map((value, i) => ({ metricId: 'bits', ts: ts + i, value, writeTimeUs: 1 })),
    );
    expect(await storedValues('bits', samplePartition(ts))).toEqual(values.map((value, i) => [ts + i, value]));
  });

  it('keeps, of two writes of one (metric, ts), the one with the later write time, whichever lands last', async () => {
    const ts = at('2024-05-01T00:00:00Z');
    await store().writePartition('lww', samplePartition(ts), [{ metricId: 'lww', ts, value: 2, writeTimeUs: 2_000 }]);
    await store().writePartition('lww', samplePartition(ts), [{ metricId: 'lww', ts, value: 1, writeTimeUs: 1_000 }]);
    expect(await storedValues('lww', samplePartition(ts))).toEqual([[ts, 2]]);
  });

  it('stores rollups with exact sums of any size, the later computation winning', async () => {
    const start = at('2024-05-01T00:00:00Z');
    const period = periodOf(QUARTER, start);
    const fold = new PointFold();
    for (const [i, value] of [1e300, 0.1, -1e300, 5e-324, 3].entries()) fold.add(start + i, value);
    await store().writeRollups('exact', QUARTER, period, [{ start, aggregate: fold.partial }], 2_000);
    const other = new PointFold();
    other.add(start, 7);
    await store().writeRollups('exact', QUARTER, period, [{ start, aggregate: other.partial }], 1_000); // computed earlier: loses
    const [row] = await store().readRollups('exact', QUARTER, period, start, start + QUARTER.ms);
    expect(row!.aggregate.sum.value).toBe(ExactSum.of(0.1).plus(ExactSum.of(5e-324)).plus(ExactSum.of(3)).value);
    expect(row!.aggregate).toMatchObject({
      count: 5,
      min: -1e300,
      max: 1e300,
      first: { ts: start, value: 1e300 },
      last: { ts: start + 4, value: 3 },
    });
    expect(await store().readRollups('exact', QUARTER, period, start - QUARTER.ms, start)).toHaveLength(0); // half-open
  });

  it('queues minutes as sets that only grow, and takes a lease only when it is still as seen', async () => {
    await store().markDirty(3, 100, [{ metricId: 'q', day: 5, minutes: [9, 1] }]);
    await store().markDirty(3, 100, [{ metricId: 'q', day: 5, minutes: [1, 4] }]);
    expect(await store().queuedFor(3, [100], ['q'])).toEqual([{ metricId: 'q', day: 5, minutes: [1, 4, 9] }]);
    expect(await store().slotDays(3, 100)).toEqual([{ metricId: 'q', day: 5, minutes: [1, 4, 9] }]);
    const seen = await store().readShard(7);
    expect(await store().takeShard(7, seen, 'a', Date.now() + 10_000)).toBe(true);
    expect(await store().takeShard(7, seen, 'b', Date.now() + 10_000)).toBe(false); // a took it meanwhile
    expect(await store().keepShard(7, 'b', Date.now() + 10_000, seen.nextSlot + 1)).toBe(false);
    expect(await store().keepShard(7, 'a', Date.now() + 10_000, seen.nextSlot + 1)).toBe(true);
    expect(await store().readShard(7)).toMatchObject({ owner: 'a', nextSlot: seen.nextSlot + 1 });
    await store().announceRoller('a', 30);
    expect(await store().liveRollers()).toContain('a');
  });

  it('writes raw points and rollups with TTLs counted from the time they cover, when retention is set', async () => {
    const raw = parseRetention('30d')!;
    const retained = new CassandraPointStore(ks.client, ks.keyspace, undefined, {
      raw,
      levels: { '15m': raw, '1h': raw, '1d': parseRetention('2y')! },
    });
    const ts = Date.now() - 10 * 86_400_000;
    await retained.writePartition('ttl', samplePartition(ts), [
      { metricId: 'ttl', ts, value: 1, writeTimeUs: Date.now() * 1000 },
    ]);
    const fold = new PointFold();
    fold.add(ts, 1);
    const dayStart = Math.floor(ts / 86_400_000) * 86_400_000;
    await retained.writeRollups('ttl', DAY, 0, [{ start: dayStart, aggregate: fold.partial }], Date.now() * 1000);
    const sample = (
      await ks.client.execute(
        `SELECT TTL(value) AS t FROM ${ks.keyspace}.samples WHERE metric_id = 'ttl' AND hour = ?`,
        [samplePartition(ts)],
      )
    ).first();
    expect(sample.get('t')).toBeGreaterThan(19.9 * 86_400);
    expect(sample.get('t')).toBeLessThanOrEqual(20 * 86_400);
    const rollup = (
      await ks.client.execute(
        `SELECT TTL(n) AS t FROM ${ks.keyspace}.rollups WHERE metric_id = 'ttl' AND level = '1d' AND period = 0`,
      )
    ).first();
    expect(rollup.get('t')).toBeGreaterThan(720 * 86_400);
  });

  it('keeps metrics apart, including ids that look like CQL', async () => {
    const ts = at('2025-06-02T00:00:00Z');
    const sneaky = "x'); DROP TABLE samples; --";
    await store().writePartition(sneaky, samplePartition(ts), [{ metricId: sneaky, ts, value: 7, writeTimeUs: 1 }]);
    expect(await storedValues(sneaky, samplePartition(ts))).toEqual([[ts, 7]]);
    expect(await storedValues('x', samplePartition(ts))).toEqual([]);
  });
});

describe('the series catalogue and special samples against a real Cassandra', () => {
  it('widens a series day span whatever order writers record it in, never narrowing it', async () => {
    const name = 'span_metric';
    const shard = catalogueShardOf(name);
    const entry = (firstDay: number, lastDay: number) => ({ metricId: `${name}{a="1"}`, name, firstDay, lastDay });
    // Concurrent workers, each recording what it saw, in an order that would narrow a plain upsert.
    await Promise.all([
      store().recordSeries(shard, [entry(100, 120)]),
      store().recordSeries(shard, [entry(90, 95)]),
      store().recordSeries(shard, [entry(110, 111)]),
    ]);
    await store().recordSeries(shard, [entry(105, 106)]);
    expect(await store().listSeries(shard, 10, { name })).toEqual([entry(90, 120)]);
  });

  it('takes the largest statements its writers send, whatever the ids: a write across partitions, catalogue and queue rows', async () => {
    // 255 characters of two bytes each in UTF-8: the longest ids there are, in statements cut as the worker cuts them.
    const ts = at('2024-06-01T00:00:00Z');
    const id = (i: number): string => `${'é'.repeat(250)}${String(i).padStart(5, '0')}`;
    const shares = Array.from({ length: Math.floor(WRITE_BYTES / partitionShareBytes(id(0), 1)) }, (_, i) => ({
      metricId: id(i),
      partition: samplePartition(ts),
      points: [{ metricId: id(i), ts, value: i, writeTimeUs: 1 }],
    }));
    await store().writePartitions(shares);
    for (const share of shares)
      expect(await storedValues(share.metricId, share.partition)).toEqual([[ts, share.points[0]!.value]]);
    const name = 'é'.repeat(255);
    const entries = Array.from({ length: 100 }, (_, i) => ({ metricId: id(i), name, firstDay: 1, lastDay: 2 }));
    await store().recordSeries(catalogueShardOf(name), entries);
    expect(await store().listSeries(catalogueShardOf(name), 1_000, { name })).toHaveLength(100);
    const days = entries.map(({ metricId }) => ({
      metricId,
      day: 1,
      minutes: Array.from({ length: 60 }, (_, m) => m),
    }));
    await store().markDirty(3, 1, days);
  });

  it('lists a shard in (name, metric id) order, page by page from a key, by name or all', async () => {
    const names = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const byShard = new Map<number, string[]>();
    for (const name of names) {
      const shard = catalogueShardOf(name);
      const ids = [`${name}`, `${name}{x="1"}`, `${name}{x="2"}`];
      await store().recordSeries(
        shard,
        ids.map((metricId) => ({ metricId, name, firstDay: 1, lastDay: 2 })),
      );
      byShard.set(shard, [...(byShard.get(shard) ?? []), ...ids]);
    }
    for (const [shard, ids] of byShard) {
      const listed: string[] = [];
      let after: { name: string; metricId: string } | undefined;
      for (;;) {
        const page = await store().listSeries(shard, 2, { after });
        listed.push(...page.map((e) => e.metricId));
        if (page.length < 2) break;
        after = { name: page[1]!.name, metricId: page[1]!.metricId };
      }
      expect(listed.filter((id) => ids.includes(id))).toEqual(
        [...ids].sort((a, b) =>
          seriesName(a) < seriesName(b) ? -1 : seriesName(a) > seriesName(b) ? 1 : a < b ? -1 : 1,
        ),
      );
    }
    expect(
      (
        await store().listSeries(catalogueShardOf('beta'), 10, {
          name: 'beta',
          after: { name: 'beta', metricId: 'beta' },
        })
      ).map((e) => e.metricId),
    ).toEqual(['beta{x="1"}', 'beta{x="2"}']);
  });

  it('lists the names of a shard from a key up to a name, page by page', async () => {
    const names = ['pr', 'prd_1', 'pre', 'pre_1', 'pre_2', 'pre~', 'prf', 'prf_1', 'q'].flatMap((name) => [
      name,
      `${name}{x="1"}`,
    ]);
    for (const metricId of names) {
      const name = seriesName(metricId);
      await store().recordSeries(catalogueShardOf(name), [{ metricId, name, firstDay: 1, lastDay: 2 }]);
    }
    const listed: string[] = [];
    for (let shard = 0; shard < CATALOGUE_SHARDS; shard++) {
      let after = { name: 'pre', metricId: '' };
      for (;;) {
        const page = await store().listSeries(shard, 2, { after, before: 'prf' });
        listed.push(...page.map((e) => e.metricId));
        if (page.length < 2) break;
        after = { name: page[1]!.name, metricId: page[1]!.metricId };
      }
    }
    expect(listed.sort()).toEqual(names.filter((id) => id.startsWith('pre')).sort());
  });

  it('keeps NaN, infinities and staleness markers apart from the points, by day', async () => {
    const t = at('2026-02-01T10:00:00Z');
    const day = Math.floor(t / MS_PER_DAY);
    await store().writeSpecialSamples(
      'odd',
      day,
      [
        { ts: t, value: Number.NaN, stale: true },
        { ts: t + 1, value: Number.POSITIVE_INFINITY, stale: false },
        { ts: t + 2, value: Number.NaN, stale: false },
      ],
      1,
    );
    const got = await store().specialSamples('odd', day, t, t + 2);
    expect(got).toEqual([
      { ts: t, value: Number.NaN, stale: true },
      { ts: t + 1, value: Number.POSITIVE_INFINITY, stale: false },
    ]);
    expect(await store().scanPoints('odd', samplePartition(t), t, t + 3, () => undefined)).toBe(0);
  });
});

describe('upgrading a keyspace an earlier version wrote', () => {
  it('copies every point with its write time, queues it, and the roller builds rollups that answer as the points do', async () => {
    // The earlier version's table, as its cql/002_points.cql made it, with points written at known times.
    await ks.client.execute(
      `CREATE TABLE IF NOT EXISTS ${ks.keyspace}.points (metric_id text, day int, ts timestamp, value double, PRIMARY KEY ((metric_id, day), ts))`,
    );
    const day = at('2023-07-04T00:00:00Z');
    const legacy = Array.from({ length: 500 }, (_, i) => ({ ts: day + i * 7_777, value: (i % 13) - 6.5 }));
    for (const { ts, value } of legacy) {
      await ks.client.execute(
        `INSERT INTO ${ks.keyspace}.points (metric_id, day, ts, value) VALUES ('old', ?, ?, ?) USING TIMESTAMP ?`,
        [Math.floor(ts / 86_400_000), ts, value, 1_000_000 + ts],
        { prepare: true },
      );
    }
    const copied = await startUpgrade(ks.client, store(), ks.keyspace);
    expect(copied).toEqual({ partitions: 1, points: 500 });
    // Written by the earlier version while the new one started: only this is copied the second time.
    const late = day + 3_600_000 + 1;
    await ks.client.execute(
      `INSERT INTO ${ks.keyspace}.points (metric_id, day, ts, value) VALUES ('old', ?, ?, 100)`,
      [Math.floor(late / 86_400_000), late],
      { prepare: true },
    );
    expect(await finishUpgrade(ks.client, store(), ks.keyspace, 20_000)).toEqual({ partitions: 1, points: 1 });
    expect(await finishUpgrade(ks.client, store(), ks.keyspace, 20_000)).toBeUndefined(); // done once
    expect(await startUpgrade(ks.client, store(), ks.keyspace)).toBeUndefined();
    const written = (
      await ks.client.execute(
        `SELECT writetime(value) AS w FROM ${ks.keyspace}.samples WHERE metric_id = 'old' AND hour = ? LIMIT 1`,
        [samplePartition(day)],
      )
    ).first();
    expect(Number(written.get('w'))).toBe(1_000_000 + day);

    const all = [...legacy.filter(({ ts }) => ts !== late), { ts: late, value: 100 }].sort((a, b) => a.ts - b.ts);
    const expectedSum = all.reduce((sum, { value }) => sum.plus(ExactSum.of(value)), ExactSum.ZERO).value;
    const search = searchService(store());
    const whole = query('old', day, day + 86_400_000 - 1, 'sum');
    expect(await search.search(whole, UNBOUNDED)).toEqual({ count: all.length, value: expectedSum }); // from the raw points: queued, not rolled
    const roller = new Roller({
      store: store(),
      owner: 'upgrade',
      concurrency: 4,
      clockMarginMs: TEST_CLOCK_MARGIN_MS,
      clock: () => Date.now() + 120_000,
    });
    await roller.balance();
    await roller.rollDue();
    const rolledSearch = searchService(store(), { clock: () => Date.now() + 120_000 });
    expect(await rolledSearch.search(whole, UNBOUNDED)).toEqual({ count: all.length, value: expectedSum });
  });

  it('lists every metric stored before the catalogue existed, with its day span, once', async () => {
    const old = at('2022-05-01T12:00:00Z');
    await store().writePartition('before{catalogue="yes"}', samplePartition(old), [
      { metricId: 'before{catalogue="yes"}', ts: old, value: 1, writeTimeUs: 1 },
    ]);
    await store().writePartition('before{catalogue="yes"}', samplePartition(old + 3 * 86_400_000), [
      { metricId: 'before{catalogue="yes"}', ts: old + 3 * 86_400_000, value: 2, writeTimeUs: 1 },
    ]);
    expect(await catalogueStoredSeries(ks.client, store(), ks.keyspace)).toBeGreaterThanOrEqual(1);
    const firstDay = Math.floor(old / MS_PER_DAY);
    expect(await store().listSeries(catalogueShardOf('before'), 10, { name: 'before' })).toEqual([
      { name: 'before', metricId: 'before{catalogue="yes"}', firstDay, lastDay: firstDay + 3 },
    ]);
    expect(await catalogueStoredSeries(ks.client, store(), ks.keyspace)).toBeUndefined(); // done once
  });
});
