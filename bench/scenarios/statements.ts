/**
 * Cassandra's CPU per statement (`npm run bench -- statements`): each kind of
 * statement the ingest path and the roller run, sent through meetr's own store at
 * a fixed concurrency with the roller stopped and nothing else running, and
 * charged the CPU Cassandra spent meanwhile (read from /proc). What an API point
 * costs is then these figures times the statements a workload sends per point.
 * Its rows lie in 1970 and in a roll-queue slot the roller is long past, so no
 * reader and no roll ever sees them; they expire with their TTLs or retention.
 */
import { encodeChunk } from '../../src/domain/chunk-codec.js';
import { PointFold } from '../../src/domain/aggregate.js';
import { QUARTER } from '../../src/rollup/levels.js';
import { SHARDS } from '../../src/rollup/roll-queue.js';
import { forEachBounded } from '../../src/concurrency.js';
import type { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import { fnv1a } from '../../src/domain/point.js';
import type { BenchContext } from '../context.js';
import { cpuSecondsOf, findPids } from '../process-cpu.js';

const STATEMENTS = 2_000;
const CONCURRENCY = 16;
const ROWS = 100;
const HOUR_MS = 3_600_000;
/** An hour of 1970, for every point and chunk written here. */
const HOUR = 1;
/** Roll-queue slots of 1970, a statement's each: the roller is long past them, and nothing reads them again. */
const PAST_SLOT = 1;
/** Rows of one rollup statement, as the roller writes them (the store's ROLLUPS_PER_STATEMENT). */
const ROLLUPS_PER_STATEMENT = 50;

type StampedPoint = Parameters<CassandraPointStore['writePartition']>[2][number];

/** A name's catalogue shard, as the store's catalogueShardOf has it (FNV-1a over 16 shards). */
const catalogueShardOf = (name: string): number => fnv1a(name) % 16;

export interface StatementCost {
  readonly statement: string;
  readonly rowsPerStatement: number;
  readonly statementsPerSecond: number;
  readonly cassandraUsPerStatement: number;
  readonly cassandraUsPerRow: number;
}

/** Runs `count` statements made by `one(i)` at CONCURRENCY and charges Cassandra's CPU to them. */
async function measure(
  statement: string,
  rowsPerStatement: number,
  one: (i: number) => Promise<unknown>,
): Promise<StatementCost> {
  const pids = findPids('org.apache.cassandra.service.CassandraDaemon');
  const before = cpuSecondsOf(pids);
  const started = performance.now();
  await forEachBounded(
    Array.from({ length: STATEMENTS }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      await one(i);
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const after = cpuSecondsOf(pids);
  if (before === undefined || after === undefined) throw new Error('cannot read the CPU time of the local Cassandra');
  const perStatement = ((after - before) / STATEMENTS) * 1e6;
  return {
    statement,
    rowsPerStatement,
    statementsPerSecond: STATEMENTS / seconds,
    cassandraUsPerStatement: perStatement,
    cassandraUsPerRow: perStatement / rowsPerStatement,
  };
}

const points = (count: number, writeTimeUs: number): StampedPoint[] =>
  Array.from({ length: count }, (_, i) => ({
    metricId: '',
    ts: HOUR * HOUR_MS + i * 15_000,
    value: i * 3,
    writeTimeUs,
  }));

/** Each statement kind, measured one after the other. */
async function measureAll(store: CassandraPointStore, seed: number): Promise<StatementCost[]> {
  const id = (i: number): string => `bench_statements_${seed}_${i}`;
  const nowUs = Date.now() * 1000;
  const hour = points(240, nowUs);
  const chunk = encodeChunk(
    hour.map((p) => p.ts),
    Float64Array.from(hour, (p) => p.value),
  );
  const fold = new PointFold();
  for (const p of hour.slice(0, 60)) fold.add(p.ts, p.value);
  const costs: StatementCost[] = [];
  costs.push(
    await measure('samples: 100 new series, a point each (one batch across partitions)', ROWS, (i) =>
      store.writePartitions(
        Array.from({ length: ROWS }, (_, k) => ({
          metricId: id(i * ROWS + k),
          partition: HOUR,
          points: points(1, nowUs).map((p) => ({ ...p, metricId: id(i * ROWS + k) })),
        })),
      ),
    ),
    await measure('samples: one series, 100 points (one partition)', ROWS, (i) =>
      store.writePartition(id(i), HOUR, points(ROWS, nowUs)),
    ),
    await measure('roll queue: 100 series of one shard, a minute each', ROWS, (i) =>
      store.markDirty(
        i % SHARDS,
        PAST_SLOT + i,
        Array.from({ length: ROWS }, (_, k) => ({ metricId: id(i * ROWS + k), day: 0, minutes: [60] })),
      ),
    ),
    // Cassandra writes blindly, so rewriting 20 names' series costs what new ones do, without filling the catalogue.
    await measure('catalogue: 100 series of one name (two cells each)', ROWS, (i) =>
      store.recordSeries(
        catalogueShardOf(id(i % 20)),
        Array.from({ length: ROWS }, (_, k) => ({
          metricId: `${id(i % 20)}{k="${k}"}`,
          name: id(i % 20),
          firstDay: 0,
          lastDay: 0,
        })),
      ),
    ),
    await measure('roller: an hour of 240 raw points read', 240, async (i) => {
      if (i < 100)
        for (let at = 0; at < hour.length; at += ROWS)
          await store.writePartition(`${id(i)}_hour`, HOUR, hour.slice(at, at + ROWS));
      return store.scanPoints(`${id(i % 100)}_hour`, HOUR, HOUR * HOUR_MS, (HOUR + 1) * HOUR_MS, () => undefined);
    }),
    await measure('roller: a 240-sample chunk written', 1, (i) =>
      store.writeChunks(id(i % 100), [{ hour: HOUR + (i % 24), bytes: chunk }], nowUs),
    ),
    await measure('reader: the 24 chunks of a day read', 24, (i) =>
      store.readChunks([id(i % 100)], 0, HOUR, HOUR + 24),
    ),
    await measure(`roller: ${ROLLUPS_PER_STATEMENT} quarter rollups written`, ROLLUPS_PER_STATEMENT, (i) =>
      store.writeRollups(
        id(i % 100),
        QUARTER,
        0,
        Array.from({ length: ROLLUPS_PER_STATEMENT }, (_, k) => ({ start: k * QUARTER.ms, aggregate: fold.partial })),
        nowUs,
      ),
    ),
    await measure('roller: a queue slot of 100 rows read', ROWS, (i) => store.slotDays(i % SHARDS, PAST_SLOT + i)),
  );
  return costs;
}

export async function benchStatements(ctx: BenchContext): Promise<StatementCost[]> {
  const restart = ctx.roller.available;
  if (restart) await ctx.roller.stop();
  try {
    ctx.progress('statements: each kind, 2,000 of them at 16 at once');
    return await measureAll(ctx.store, ctx.seed);
  } finally {
    if (restart) await ctx.roller.start();
  }
}
