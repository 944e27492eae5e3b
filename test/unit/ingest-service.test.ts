/** The ingest service's write plan over a recording PointWriter (no storage involved). */
import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/domain/point.js';
import { createIngestService, groupByPartition } from '../../src/ingest/ingest-service.js';
import type { PointWriter } from '../../src/storage/ports.js';
import { dayStartMs } from '../../src/time/day-bucket.js';

const DAY = 86_400_000;

function recordingWriter(clock: { now: number }) {
  const log: string[] = [];
  const writer: PointWriter = {
    async markDays(metricId, days) {
      log.push(`mark ${metricId} ${days.join(',')}`);
    },
    async writePartition(metricId, day, points) {
      clock.now += 10; // time passes while Cassandra writes
      log.push(`write ${metricId} ${day} x${points.length}`);
    },
    async invalidateDaySummaries(metricId, days, atMs) {
      log.push(`invalidate ${metricId} ${days.join(',')} @${atMs}`);
    },
  };
  return { writer, log };
}

describe('the ingest service', () => {
  it('groups by (metric, day), keeping the last of duplicate timestamps in request order', () => {
    const points: Point[] = [
      { metricId: 'a', ts: 5, value: 1 },
      { metricId: 'b', ts: 5, value: 2 },
      { metricId: 'a', ts: DAY + 1, value: 3 },
      { metricId: 'a', ts: 5, value: 4 },
    ];
    const units = groupByPartition(points);
    expect(units.map((u) => [u.metricId, u.day, u.points.map((p) => p.value)])).toEqual([
      ['a', 0, [4]],
      ['b', 0, [2]],
      ['a', 1, [3]],
    ]);
  });

  it('indexes days first, writes in batches, and hides closed days summaries before and after', async () => {
    const clock = { now: dayStartMs(100) + 3_600_000 }; // 01:00 on day 100: day 98 is closed, 100 open
    const { writer, log } = recordingWriter(clock);
    const service = createIngestService({ writer, concurrency: 1, pointsPerWrite: 2, clock: () => clock.now });
    const points: Point[] = [
      ...[1, 2, 3].map((i) => ({ metricId: 'late', ts: dayStartMs(98) + i, value: i })),
      { metricId: 'live', ts: dayStartMs(100) + 7, value: 1 },
    ];
    expect(await service.ingest(points)).toBe(4);
    expect(log).toEqual([
      'mark late 98',
      'mark live 100',
      `invalidate late 98 @${dayStartMs(100) + 3_600_000}`,
      'write late 98 x2',
      'write late 98 x1',
      'write live 100 x1',
      `invalidate late 98 @${dayStartMs(100) + 3_600_030}`, // dated after the writes were acknowledged
    ]);

    log.length = 0;
    await service.ingest([{ metricId: 'live', ts: dayStartMs(100) + 8, value: 2 }]);
    expect(log).toEqual(['write live 100 x1']); // known day, open day: one statement
  });
});
