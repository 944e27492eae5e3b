/** The ingest service's write plan over a recording PointWriter (no storage involved). */
import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/domain/point.js';
import { groupByPartition, UNCERTAIN_WRITE_HOLD_MS } from '../../src/ingest/ingest-service.js';
import type { PointWriter } from '../../src/storage/ports.js';
import { dayStartMs } from '../../src/time/day-bucket.js';
import { ingestService, insertRequest } from '../support/services.js';

const DAY = 86_400_000;

function recordingWriter(clock: { now: number }, failWrites = false) {
  const log: string[] = [];
  const writer: PointWriter = {
    async markDays(metricId, days) {
      log.push(`mark ${metricId} ${days.join(',')}`);
    },
    async writePartition(metricId, day, points) {
      clock.now += 10; // time passes while Cassandra writes
      log.push(`write ${metricId} ${day} x${points.length} @${points[0]?.writeTimeUs}`);
      if (failWrites) throw new Error('write timeout');
    },
    async holdDaySummaries(metricId, days, untilMs) {
      log.push(`hold ${metricId} ${days.join(',')} until ${untilMs}`);
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

  it('indexes days and holds closed days summaries before writing, stamping points with the arrival time', async () => {
    const clock = { now: dayStartMs(100) + 3_600_000 }; // 01:00 on day 100: day 98 is closed, 100 open
    const { writer, log } = recordingWriter(clock);
    const service = ingestService(writer, { pointsPerWrite: 2, landingMarginMs: 4_000, clock: () => clock.now, scheduler: { concurrency: 1 } });
    const points: Point[] = [
      ...[1, 2, 3].map((i) => ({ metricId: 'late', ts: dayStartMs(98) + i, value: i })),
      { metricId: 'live', ts: dayStartMs(100) + 7, value: 1 },
    ];
    const request = insertRequest({ receivedMs: clock.now - 5, timeoutMs: 20_000 });
    expect(await service.ingest(points, request)).toBe(4);
    const us = request.writeTimeUs;
    expect(log).toEqual([
      'mark late 98',
      'mark live 100',
      `hold late 98 until ${request.deadlineMs + 4_000}`, // past the latest a write of this request can land
      `write late 98 x2 @${us}`,
      `write late 98 x1 @${us}`,
      `write live 100 x1 @${us}`,
    ]);

    log.length = 0;
    await service.ingest([{ metricId: 'live', ts: dayStartMs(100) + 8, value: 2 }], insertRequest({ receivedMs: 7 }));
    expect(log).toEqual(['write live 100 x1 @7000']); // known day, open day: one statement
  });

  it('holds a closed day longer when a write to it failed, since it may still land', async () => {
    const clock = { now: dayStartMs(100) + 3_600_000 };
    const { writer, log } = recordingWriter(clock, true);
    const service = ingestService(writer, { clock: () => clock.now });
    await expect(service.ingest([{ metricId: 'late', ts: dayStartMs(98), value: 1 }], insertRequest())).rejects.toThrow('write timeout');
    expect(log.at(-1)).toBe(`hold late 98 until ${clock.now + UNCERTAIN_WRITE_HOLD_MS}`);
  });
});
