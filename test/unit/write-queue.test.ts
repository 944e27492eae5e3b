/** The process-wide write queue, driven by a writer whose writes the test completes by hand. */
import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/domain/point.js';
import { createWriteQueue } from '../../src/ingest/write-queue.js';

interface SentWrite {
  readonly metricId: string;
  readonly day: number;
  readonly points: Point[];
  finish(error?: Error): void;
}

function manualWriter() {
  const sent: SentWrite[] = [];
  return {
    sent,
    writer: {
      writePartition(metricId: string, day: number, points: readonly Point[]): Promise<void> {
        return new Promise<void>((resolve, reject) => {
          sent.push({ metricId, day, points: [...points], finish: (error) => (error ? reject(error) : resolve()) });
        });
      },
    },
  };
}

const p = (metricId: string, ts: number, value = ts): Point => ({ metricId, ts, value });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the write queue', () => {
  it('sends at once while there is room, and never more than its concurrency', async () => {
    const { sent, writer } = manualWriter();
    const queue = createWriteQueue({ writer, concurrency: 2, pointsPerWrite: 100 });
    const writes = ['a', 'b', 'c'].map((m) => queue.write(m, 1, [p(m, 1)]));
    expect(sent.map((w) => w.metricId)).toEqual(['a', 'b']); // sent synchronously, no waiting for company
    expect(queue.waiting).toBe(1);
    sent[0]!.finish();
    await flush();
    expect(sent.map((w) => w.metricId)).toEqual(['a', 'b', 'c']);
    sent[1]!.finish();
    sent[2]!.finish();
    await Promise.all(writes);
  });

  it('merges queued writes for one partition while Cassandra is busy, later points replacing earlier ones', async () => {
    const { sent, writer } = manualWriter();
    const queue = createWriteQueue({ writer, concurrency: 1, pointsPerWrite: 100 });
    const busy = queue.write('x', 0, [p('x', 1)]);
    let settled = 0;
    const first = queue.write('m', 7, [p('m', 1, 10), p('m', 2, 20)]).then(() => settled++);
    const second = queue.write('m', 7, [p('m', 2, 21), p('m', 3, 30)]).then(() => settled++);
    const other = queue.write('n', 7, [p('n', 1)]).then(() => settled++);
    expect(sent).toHaveLength(1);
    sent[0]!.finish();
    await busy;
    await flush();
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ metricId: 'm', day: 7 });
    expect(sent[1]!.points.map((point) => [point.ts, point.value])).toEqual([
      [1, 10],
      [2, 21],
      [3, 30],
    ]);
    sent[1]!.finish();
    await flush();
    expect(settled).toBe(2); // both callers of the merged write, not yet the other partition's
    sent[2]!.finish();
    await Promise.all([first, second, other]);
    expect(settled).toBe(3);
  });

  it('keeps merged writes within pointsPerWrite and splits large ones', async () => {
    const { sent, writer } = manualWriter();
    const queue = createWriteQueue({ writer, concurrency: 1, pointsPerWrite: 3 });
    const busy = queue.write('x', 0, [p('x', 1)]);
    const big = queue.write('m', 1, [1, 2, 3, 4, 5].map((ts) => p('m', ts)));
    const small = queue.write('m', 1, [p('m', 6)]);
    for (let i = 0; i < 3; i++) {
      sent[i]!.finish();
      await flush();
    }
    await Promise.all([busy, big, small]);
    // The big write's second half had room for the small write's point.
    expect(sent.map((w) => w.points.map((point) => point.ts))).toEqual([[1], [1, 2, 3], [4, 5, 6]]);
  });

  it('fails exactly the callers whose points were in a failed write', async () => {
    const { sent, writer } = manualWriter();
    const queue = createWriteQueue({ writer, concurrency: 1, pointsPerWrite: 100 });
    const busy = queue.write('x', 0, [p('x', 1)]);
    const outcome = (write: Promise<void>): Promise<string> => write.then(() => 'stored', (error: Error) => error.message);
    const doomed = [outcome(queue.write('m', 1, [p('m', 1)])), outcome(queue.write('m', 1, [p('m', 2)]))];
    const fine = outcome(queue.write('n', 1, [p('n', 1)]));
    sent[0]!.finish();
    await busy;
    await flush();
    sent[1]!.finish(new Error('Cassandra is unavailable'));
    await flush();
    sent[2]!.finish();
    expect(await Promise.all(doomed)).toEqual(['Cassandra is unavailable', 'Cassandra is unavailable']);
    expect(await fine).toBe('stored');
  });

  it('rejects a caller only after all of its writes settled', async () => {
    const { sent, writer } = manualWriter();
    const queue = createWriteQueue({ writer, concurrency: 2, pointsPerWrite: 1 });
    let rejected = false;
    const write = queue.write('m', 1, [p('m', 1), p('m', 2)]).catch(() => (rejected = true));
    sent[0]!.finish(new Error('write timeout'));
    await flush();
    expect(rejected).toBe(false); // its other write is still in flight
    sent[1]!.finish();
    await write;
    expect(rejected).toBe(true);
  });
});
