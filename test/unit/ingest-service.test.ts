/** The ingest service's write plan over a recording PointWriter (no storage involved). */
import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/domain/point.js';
import { REUSE_MS, shardOf, slotOf, UNCERTAIN_WRITE_HOLD_MS } from '../../src/rollup/roll-queue.js';
import type { PointWriter } from '../../src/storage/ports.js';
import { ingestService, insertRequest } from '../support/services.js';
import { groupByPartition } from '../../src/domain/partitions.js';

const HOUR = 3_600_000;
const M = 60_000;

function recordingWriter(clock: { now: number }, failWrites = false) {
  const log: string[] = [];
  const catalogue: string[] = [];
  const writer: PointWriter = {
    async writeSpecialSamples(metricId, day, samples) {
      log.push(`special ${metricId} ${day} x${samples.length}`);
    },
    async recordSeries(shard, entries) {
      catalogue.push(...entries.map((e) => `${e.metricId} ${e.firstDay}..${e.lastDay}`));
    },
    async markDirty(shard, slot, days) {
      log.push(`queue ${shard}/${slot} ${days.map((d) => `${d.metricId}@${d.day}:${d.minutes.join(',')}`).join(' ')}`);
    },
    async writePartition(metricId, partition, points) {
      await this.writePartitions([{ metricId, partition, points }]);
    },
    async writePartitions(shares) {
      clock.now += 10; // time passes while Cassandra writes
      for (const { metricId, partition, points } of shares)
        log.push(`write ${metricId} ${partition} x${points.length} @${points[0]?.writeTimeUs}`);
      if (failWrites) throw new Error('write timeout');
    },
  };
  return { writer, log, catalogue };
}

describe('the ingest service', () => {
  it('groups by (metric, UTC hour), keeping the last of duplicate timestamps in request order', async () => {
    const points: Point[] = [
      { metricId: 'a', ts: 10 * HOUR + 5, value: 1 },
      { metricId: 'a', ts: 11 * HOUR, value: 2 },
      { metricId: 'b', ts: 10 * HOUR + 5, value: 3 },
      { metricId: 'a', ts: 10 * HOUR + 5, value: 4 },
    ];
    expect(await groupByPartition(points)).toEqual([
      { metricId: 'a', partition: 10, points: [{ metricId: 'a', ts: 10 * HOUR + 5, value: 4 }] },
      { metricId: 'a', partition: 11, points: [{ metricId: 'a', ts: 11 * HOUR, value: 2 }] },
      { metricId: 'b', partition: 10, points: [{ metricId: 'b', ts: 10 * HOUR + 5, value: 3 }] },
    ]);
  });

  it('queues the minutes it touches and the rest of their quarters, in the slot its hold ends in, before writing points stamped with the arrival time', async () => {
    const clock = { now: 1_000 * 86_400_000 };
    const { writer, log } = recordingWriter(clock);
    const service = ingestService(writer, { clock: () => clock.now });
    const old = 500 * 86_400_000; // a day long past: its minutes and what is left of their quarters, no others
    const request = insertRequest({ receivedMs: clock.now });
    await service.ingest(
      [
        { metricId: 'm', ts: old + 61_000, value: 1 },
        { metricId: 'm', ts: old + 2 * HOUR + 12 * M, value: 2 },
      ],
      request,
    );
    const slot = slotOf(request.deadlineMs + 1_000 + REUSE_MS);
    const [first, second] = [
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
      [132, 133, 134],
    ];
    expect(log[0]).toBe(`queue ${shardOf('m')}/${slot} m@500:${[...first, ...second].join(',')}`);
    expect(log.slice(1).sort()).toEqual([
      `write m ${500 * 24} x1 @${request.writeTimeUs}`,
      `write m ${500 * 24 + 2} x1 @${request.writeTimeUs}`,
    ]);
    // The writer's next points, within those quarters and the hold: nothing more to queue; past them, their quarter.
    log.length = 0;
    const next = (ts: number) =>
      service.ingest([{ metricId: 'm', ts, value: 3 }], insertRequest({ receivedMs: clock.now }));
    await next(old + 5 * M);
    await next(old + 14 * M + 59_000);
    expect(log.filter((line) => line.startsWith('queue'))).toEqual([]);
    await next(old + 15 * M);
    expect(log.filter((line) => line.startsWith('queue'))).toEqual([
      `queue ${shardOf('m')}/${slot} m@500:15,16,17,18,19,20,21,22,23,24,25,26,27,28,29`,
    ]);
  });

  it('reuses a queued minute while its hold covers a later write, and queues the live minutes ahead', async () => {
    const clock = { now: 1_000 * 86_400_000 + 30 * M + 45_000 }; // 00:30:45
    const { writer, log } = recordingWriter(clock);
    const service = ingestService(writer, { clock: () => clock.now });
    await service.ingest([{ metricId: 'live', ts: clock.now, value: 1 }], insertRequest({ receivedMs: clock.now }));
    const queued = log.filter((line) => line.startsWith('queue'));
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatch(/live@1000:30,31$/); // the hold (31 s) reaches into the next minute
    clock.now += 5_000; // 00:30:50, still covered
    await service.ingest([{ metricId: 'live', ts: clock.now, value: 2 }], insertRequest({ receivedMs: clock.now }));
    clock.now += 30_000; // 00:31:20: minute 31 was queued, but this write needs a longer hold
    await service.ingest([{ metricId: 'live', ts: clock.now, value: 3 }], insertRequest({ receivedMs: clock.now }));
    expect(log.filter((line) => line.startsWith('queue'))).toHaveLength(2);
    expect(log.filter((line) => line.startsWith('write'))).toHaveLength(3);
  });

  it('queues the minutes of a failed write again for after Cassandra could still deliver it', async () => {
    const clock = { now: 1_000 * 86_400_000 };
    const { writer, log } = recordingWriter(clock, true);
    const service = ingestService(writer, { clock: () => clock.now });
    await expect(
      service.ingest([{ metricId: 'm', ts: 10 * HOUR, value: 1 }], insertRequest({ receivedMs: clock.now })),
    ).rejects.toThrow('write timeout');
    await new Promise((resolve) => setTimeout(resolve, 0));
    const late = log.filter((line) => line.startsWith('queue'))[1];
    expect(late).toBeDefined();
    const slot = Number(/queue \d+\/(\d+)/.exec(late!)![1]);
    expect(slot).toBeGreaterThanOrEqual(slotOf(clock.now + UNCERTAIN_WRITE_HOLD_MS - 100));
  });

  it('lists each series in the catalogue before its points, again only when its points reach beyond the days it recorded', async () => {
    const clock = { now: 1_000 * 86_400_000 };
    const { writer, catalogue } = recordingWriter(clock);
    const service = ingestService(writer, { clock: () => clock.now });
    const day = (n: number, id = 'up{job="a"}'): Point => ({ metricId: id, ts: n * 86_400_000 + HOUR, value: n });
    await service.ingest([day(10), day(12), day(11, 'cpu.load')], insertRequest());
    expect(catalogue.sort()).toEqual(['cpu.load 11..11', 'up{job="a"} 10..12']);
    catalogue.length = 0;
    await service.ingest([day(11), day(10), day(12), day(11, 'cpu.load')], insertRequest());
    expect(catalogue).toEqual([]); // within what was recorded: no catalogue write at all
    await service.ingest([day(13)], insertRequest());
    await service.ingest([day(9)], insertRequest());
    expect(catalogue).toEqual(['up{job="a"} 10..13', 'up{job="a"} 9..13']);
  });
});
