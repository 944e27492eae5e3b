/** The worker's write scheduler, driven by a writer whose writes the test completes by hand. */
import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/domain/point.js';
import { createWriteScheduler, type WriteSchedulerOptions } from '../../src/ingest/write-scheduler.js';
import { statementsOf } from '../../src/ingest/write-plan.js';
import {
  partitionShareBytes,
  seriesChunks,
  WRITE_BYTES,
  type PartitionShare,
  type StampedPoint,
} from '../../src/storage/ports.js';
import { UNBOUNDED } from '../../src/work-scope.js';

/** One statement sent: its first partition's share, and every share when it wrote several partitions. */
interface SentWrite {
  readonly metricId: string;
  readonly day: number;
  readonly points: StampedPoint[];
  readonly shares: PartitionShare[];
  finish(error?: Error): void;
}

function manualWriter() {
  const sent: SentWrite[] = [];
  const writePartitions = (shares: readonly PartitionShare[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const [{ metricId, partition, points }] = shares as [PartitionShare];
      sent.push({
        metricId,
        day: partition,
        points: [...points],
        shares: [...shares],
        finish: (error) => (error ? reject(error) : resolve()),
      });
    });
  return {
    sent,
    writer: {
      writePartition: (metricId: string, partition: number, points: readonly StampedPoint[]) =>
        writePartitions([{ metricId, partition, points }]),
      writePartitions,
    },
  };
}

function scheduler(writer: WriteSchedulerOptions['writer'], options: Partial<WriteSchedulerOptions> = {}) {
  return createWriteScheduler({
    writer,
    concurrency: 1,
    pointsPerWrite: 100,
    maxQueuedPoints: 1_000_000,
    maxQueueDelayMs: 60_000,
    ...options,
  });
}

const p = (metricId: string, ts: number, value = ts): Point => ({ metricId, ts, value });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const admit = (s: ReturnType<typeof scheduler>, statements: number, points = statements, signal = UNBOUNDED.signal) =>
  s.admit({ statements, points, signal });

describe('the write scheduler', () => {
  it('sends at once while there is room, and never more than its concurrency', async () => {
    const { sent, writer } = manualWriter();
    const s = scheduler(writer, { concurrency: 2 });
    const writes = ['a', 'b', 'c'].map((m) => admit(s, 1).writePartition(m, 1, [p(m, 1)], 5));
    expect(sent.map((w) => w.metricId)).toEqual(['a', 'b']); // sent synchronously, no waiting for company
    sent[0]!.finish();
    await flush();
    expect(sent.map((w) => w.metricId)).toEqual(['a', 'b', 'c']);
    sent[1]!.finish();
    sent[2]!.finish();
    await Promise.all(writes);
  });

  it('serves requests in turn: a single point behind a large batch goes next', async () => {
    const { sent, writer } = manualWriter();
    const s = scheduler(writer);
    const big = admit(s, 1_000);
    const bigWrites = Array.from({ length: 1_000 }, (_, i) => big.writePartition(`big${i}`, 1, [p(`big${i}`, 1)], 5));
    const single = admit(s, 1).writePartition('polite', 1, [p('polite', 1)], 6);
    sent[0]!.finish();
    await flush();
    expect(sent.map((w) => w.metricId)).toEqual(['big0', 'polite']);
    sent[1]!.finish();
    await single;
    // The rest of the batch: its one-point writes go a hundred partitions to a statement.
    for (let i = 2; i < sent.length || i < 12; i++) {
      sent[i]!.finish();
      await flush();
    }
    expect(sent.slice(2).map((w) => w.shares.length)).toEqual([...Array<number>(9).fill(100), 99]);
    await Promise.all(bigWrites);
  });

  it("takes a request's next small writes to other partitions into one statement, within pointsPerWrite and WRITE_BYTES", async () => {
    const { sent, writer } = manualWriter();
    const s = scheduler(writer, { pointsPerWrite: 10 });
    const next = async (): Promise<string[]> => {
      await flush();
      const statement = sent.at(-1)!;
      statement.finish();
      return statement.shares.map(
        (share) => `${share.metricId.slice(0, 3)}/${share.partition} x${share.points.length}`,
      );
    };
    const busy = admit(s, 1).writePartition('busy', 0, [p('busy', 1)], 1);
    const job = admit(s, 4, 12);
    const writes = [
      job.writePartition('a', 1, [p('a', 1), p('a', 2)], 2),
      job.writePartition('b', 1, [p('b', 1)], 2),
      job.writePartition('a', 2, [p('a', 3), p('a', 4), p('a', 5), p('a', 6), p('a', 7), p('a', 8)], 2),
      job.writePartition('c', 1, [p('c', 1), p('c', 2), p('c', 3)], 2), // would make 12 points: the next statement
    ];
    await next();
    expect(await next()).toEqual(['a/1 x2', 'b/1 x1', 'a/2 x6']);
    expect(await next()).toEqual(['c/1 x3']);
    // What admission counts for them, as they are sent.
    const counted = (ids: string[], sizes: number[]) =>
      statementsOf(
        ids.map((metricId, i) => ({ metricId, points: { length: sizes[i]! } })),
        10,
      );
    expect(counted(['a', 'b', 'a', 'c'], [2, 1, 6, 3])).toBe(2);
    expect(counted(['a', 'b'], [25, 1])).toBe(3); // 10, 10, then 5 with b's one
    await Promise.all([busy, ...writes]);

    // 255-character ids, one point each: as many as WRITE_BYTES holds, however few their points.
    const wide = scheduler(writer);
    const long = 'l'.repeat(255);
    const perStatement = Math.floor(WRITE_BYTES / partitionShareBytes(long, 1));
    expect(perStatement).toBeLessThan(100);
    const blocker = admit(wide, 1).writePartition('busy', 0, [p('busy', 1)], 1);
    const many = admit(wide, 100);
    const longWrites = Array.from({ length: 100 }, (_, i) => many.writePartition(`${long}${i}`, 1, [p('x', i)], 2));
    await next();
    expect(2 * perStatement < 100 && 100 < 3 * perStatement).toBe(true);
    expect(await next()).toHaveLength(perStatement);
    expect(await next()).toHaveLength(perStatement);
    expect(await next()).toHaveLength(100 - 2 * perStatement);
    expect(
      statementsOf(
        Array.from({ length: 100 }, (_, i) => ({ metricId: `${long}${i}`, points: [p('x', i)] })),
        100,
      ),
    ).toBe(3);
    await Promise.all([blocker, ...longWrites]);
  });

  it('merges waiting writes for one partition while Cassandra is busy, each point under its own write time', async () => {
    const { sent, writer } = manualWriter();
    const s = scheduler(writer);
    const busy = admit(s, 1).writePartition('x', 0, [p('x', 1)], 1);
    let settled = 0;
    const first = admit(s, 1)
      .writePartition('m', 7, [p('m', 1, 10), p('m', 2, 20)], 100)
      .then(() => settled++);
    const second = admit(s, 1)
      .writePartition('m', 7, [p('m', 2, 21), p('m', 3, 30)], 200)
      .then(() => settled++);
    const other = admit(s, 1)
      .writePartition('n', 7, [p('n', 1)], 300)
      .then(() => settled++);
    expect(sent).toHaveLength(1);
    sent[0]!.finish();
    await busy;
    await flush();
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ metricId: 'm', day: 7 });
    expect(sent[1]!.points.map((point) => [point.ts, point.value, point.writeTimeUs])).toEqual([
      [1, 10, 100],
      [2, 20, 100],
      [2, 21, 200], // Cassandra keeps the later write time
      [3, 30, 200],
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
    const s = scheduler(writer, { pointsPerWrite: 3 });
    const busy = admit(s, 1).writePartition('x', 0, [p('x', 1)], 1);
    const big = admit(s, 2).writePartition(
      'm',
      1,
      [1, 2, 3, 4, 5].map((ts) => p('m', ts)),
      1,
    );
    const small = admit(s, 1).writePartition('m', 1, [p('m', 6)], 1);
    for (let i = 0; i < 3; i++) {
      sent[i]!.finish();
      await flush();
    }
    await Promise.all([busy, big, small]);
    // The small write's turn came second; the big write's second chunk fit beside it.
    expect(sent.map((w) => w.points.map((point) => point.ts))).toEqual([[1], [1, 2, 3], [6, 4, 5]]);
  });

  it('fails exactly the callers whose points were in a failed write', async () => {
    const { sent, writer } = manualWriter();
    const s = scheduler(writer);
    const busy = admit(s, 1).writePartition('x', 0, [p('x', 1)], 1);
    const outcome = (write: Promise<void>): Promise<string> =>
      write.then(
        () => 'stored',
        (error: Error) => error.message,
      );
    const doomed = [
      outcome(admit(s, 1).writePartition('m', 1, [p('m', 1)], 1)),
      outcome(admit(s, 1).writePartition('m', 1, [p('m', 2)], 1)),
    ];
    const fine = outcome(admit(s, 1).writePartition('n', 1, [p('n', 1)], 1));
    sent[0]!.finish();
    await busy;
    await flush();
    sent[1]!.finish(new Error('Cassandra is unavailable'));
    await flush();
    sent[2]!.finish();
    expect(await Promise.all(doomed)).toEqual(['Cassandra is unavailable', 'Cassandra is unavailable']);
    expect(await fine).toBe('stored');
  });

  it('drops the unsent writes of a request whose signal fires, and rejects it at once', async () => {
    const { sent, writer } = manualWriter();
    const s = scheduler(writer);
    const controller = new AbortController();
    const job = admit(s, 3, 3, controller.signal);
    const writes = [1, 2, 3].map((i) =>
      job.writePartition(`m${i}`, 1, [p(`m${i}`, 1)], 1).then(
        () => 'stored',
        (error: Error) => error.message,
      ),
    );
    expect(s.load.queuedPoints).toBe(2);
    controller.abort(new Error('deadline passed'));
    expect(await Promise.all(writes.slice(1))).toEqual(['deadline passed', 'deadline passed']);
    expect(s.load).toMatchObject({ queuedPoints: 0, activeRequests: 0, waitingPartitions: 0 }); // nothing of it is kept
    sent[0]!.finish();
    expect(await writes[0]).toBe('stored'); // already sent: it lands, acknowledged or not
    await flush();
    expect(sent).toHaveLength(1); // nothing else ever goes out
    await expect(job.run(() => Promise.resolve())).rejects.toThrow('deadline passed');
  });

  it('sheds a request that would overfill the queue or wait too long, and admits small ones beside a big one', async () => {
    const { sent, writer } = manualWriter();
    const s = scheduler(writer, { concurrency: 2, maxQueuedPoints: 10, maxQueueDelayMs: 50 });
    const big = admit(s, 10, 10); // an empty queue takes a request of any size
    expect(() => admit(s, 1, 1)).toThrow(expect.objectContaining({ code: 'overloaded', reason: 'write_queue_full' }));
    big.end();
    expect(s.load.queuedPoints).toBe(0);

    const t = scheduler(writer, { concurrency: 2, maxQueuedPoints: 1_000_000, maxQueueDelayMs: 50 });
    // Two statements ahead per turn at the assumed 2 ms each over 2 slots: 1 ms of delay per round.
    const huge = admit(t, 1_000);
    expect(() => admit(t, 100)).toThrow(
      expect.objectContaining({
        reason: 'write_queue_delay',
        message: expect.stringMatching(/MEETR_MAX_QUEUE_DELAY_MS/),
      }),
    );
    const single = admit(t, 1); // waits for at most one statement of the big one
    single.end();
    huge.end();
    expect(sent).toEqual([]);
  });

  it('cuts catalogue entries into statements of at most 100 entries and WRITE_BYTES, whatever the names', () => {
    const entry = (metricId: string) => ({ metricId, name: metricId, firstDay: 1, lastDay: 1 });
    const short = Array.from({ length: 250 }, (_, i) => entry(`m${i}`));
    expect(seriesChunks(short).map((chunk) => chunk.length)).toEqual([100, 100, 50]);
    const long = Array.from({ length: 30 }, (_, i) => entry(`${'é'.repeat(250)}${i}`));
    const chunks = seriesChunks(long);
    expect(chunks.flat()).toEqual(long);
    for (const chunk of chunks) expect(chunk.length * 2 * (3 * 2 * 252 + 40)).toBeLessThanOrEqual(WRITE_BYTES);
    expect(chunks.length).toBeGreaterThan(1);
  });
});
