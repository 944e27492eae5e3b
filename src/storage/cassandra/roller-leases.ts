/**
 * The roller's shared state in Cassandra: shard leases as lightweight
 * transactions (and the workers' large-write lease, the same way, in meta), the
 * rollers alive and the keyspace's facts in meta, Cassandra's
 * own clock, and what sealing history needs: the list of hour partitions of raw
 * points, and the deletes that drop the rows of history once sealed.
 */
import cassandra from 'cassandra-driver';
import type { EpochMs } from '../../time/units.js';
import { chunkPeriod } from '../../domain/partitions.js';
import { dayBucket } from '../../time/day-bucket.js';
import { MS_PER_HOUR } from '../../time/units.js';
import type { SampleHour } from '../history-ports.js';
import type { LargeWriteLease, ShardState } from '../ports.js';
import { cassandraNowMs, type CassandraClient, type StatementConsistency } from './client.js';
import { CqlSession, pagedRows } from './cql-session.js';
import { classifyDriverError } from './errors.js';
import { pointStatements, ROLLER_KEY } from './statements.js';

export class CassandraRollerLeases extends CqlSession implements LargeWriteLease {
  protected readonly statements: ReturnType<typeof pointStatements>;

  constructor(
    client: CassandraClient,
    keyspace: string,
    consistency: StatementConsistency | undefined,
    protected readonly clock: () => EpochMs,
  ) {
    super(client, consistency);
    this.statements = pointStatements(keyspace);
  }

  async readShard(shard: number): Promise<ShardState> {
    const result = await this.run('read roller shard', () =>
      this.client.execute(this.statements.readShard, [shard], this.readOptions),
    );
    const row = result.first();
    if (row === null)
      throw new Error(`roll_shards has no row for shard ${shard}: run the migrate command (./meetr up does)`);
    return {
      owner: row.get('owner') as string,
      leaseUntilMs: (row.get('lease_until') as cassandra.types.Long).toNumber(),
      nextSlot: (row.get('next_slot') as cassandra.types.Long).toNumber(),
    };
  }

  async takeShard(shard: number, seen: ShardState, owner: string, untilMs: EpochMs): Promise<boolean> {
    const params = [
      owner,
      cassandra.types.Long.fromNumber(untilMs),
      shard,
      seen.owner,
      cassandra.types.Long.fromNumber(seen.leaseUntilMs),
    ];
    return this.applied('take roller shard', this.statements.takeShard, params);
  }

  async keepShard(shard: number, owner: string, untilMs: EpochMs, nextSlot: number): Promise<boolean> {
    const params = [cassandra.types.Long.fromNumber(untilMs), cassandra.types.Long.fromNumber(nextSlot), shard, owner];
    return this.applied('keep roller shard', this.statements.keepShard, params);
  }

  async takeLargeWrite(owner: string, ttlSeconds: number): Promise<boolean> {
    return this.applied('take the large-write lease', this.statements.takeLargeWrite, [owner, ttlSeconds]);
  }

  async releaseLargeWrite(owner: string): Promise<void> {
    await this.applied('release the large-write lease', this.statements.releaseLargeWrite, [owner]);
  }

  async serverTimeMs(): Promise<EpochMs> {
    return this.run('read Cassandra clock', () => cassandraNowMs(this.client));
  }

  async announceRoller(owner: string, ttlSeconds: number): Promise<void> {
    await this.run('announce roller', () =>
      this.client.execute(
        this.statements.announceRoller,
        [`${ROLLER_KEY}${owner}`, new Date(this.clock()).toISOString(), ttlSeconds],
        this.writeOptions,
      ),
    );
  }

  async withdrawRoller(owner: string): Promise<void> {
    await this.run('withdraw roller', () =>
      this.client.execute(this.statements.withdrawRoller, [`${ROLLER_KEY}${owner}`], this.writeOptions),
    );
  }

  async liveRollers(): Promise<string[]> {
    const owners: string[] = [];
    // meta is a handful of rows: the rollers alive and a few facts about the keyspace.
    await this.forEachRow('read rollers', this.statements.readMeta, [], (row) => {
      const key = row.get('key') as string;
      if (key.startsWith(ROLLER_KEY)) owners.push(key.slice(ROLLER_KEY.length));
    });
    return owners;
  }

  async readMeta(key: string): Promise<string | undefined> {
    const result = await this.run('read meta', () =>
      this.client.execute(this.statements.readMetaKey, [key], this.readOptions),
    );
    return (result.first()?.get('value') as string | undefined) ?? undefined;
  }

  async writeMeta(key: string, value: string): Promise<void> {
    await this.run('write meta', () => this.client.execute(this.statements.writeMeta, [key, value], this.writeOptions));
  }

  async *sampleHours(): AsyncGenerator<SampleHour> {
    try {
      for await (const row of pagedRows(this.client, this.statements.sampleHours, [], this.readOptions))
        yield { metricId: row.get('metric_id') as string, hour: row.get('hour') as number };
    } catch (error) {
      throw classifyDriverError(error, 'list sample hours');
    }
  }

  async keptForever(metricId: string, hour: number): Promise<boolean> {
    const result = await this.run('read raw row TTL', () =>
      this.client.execute(this.statements.keptForever, [metricId, hour], this.readOptions),
    );
    const row = result.first();
    return row !== null && row.get('ttl') === null;
  }

  async chunkSealedAt(metricId: string, hour: number): Promise<number | undefined> {
    const result = await this.run('read chunk write time', () =>
      this.client.execute(this.statements.chunkSealedAt, [metricId, chunkPeriod(hour), hour], this.readOptions),
    );
    const sealedAt = result.first()?.get('sealed_at') as cassandra.types.Long | null | undefined;
    return sealedAt?.toNumber() ?? undefined;
  }

  async dropSampleHour(metricId: string, hour: number, asOfUs: number): Promise<void> {
    const fromMs = hour * MS_PER_HOUR;
    const asOf = cassandra.types.Long.fromNumber(asOfUs);
    const special = [asOf, metricId, dayBucket(fromMs), fromMs, fromMs + MS_PER_HOUR];
    await this.run('drop raw rows', () =>
      Promise.all([
        this.client.execute(this.statements.dropSampleHour, [asOf, metricId, hour], this.writeOptions),
        this.client.execute(this.statements.dropSpecialHour, special, this.writeOptions),
      ]),
    );
  }
}
