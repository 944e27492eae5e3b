/**
 * The roller's shared state in this process's memory (see in-memory-point-store.ts):
 * shard leases taken only when still as seen, the large-write lease, the rollers
 * alive, and the keyspace's facts.
 */
import { StorageUnavailableError } from '../../errors.js';
import { SHARDS, slotOf } from '../../rollup/roll-queue.js';
import type { EpochMs } from '../../time/units.js';
import type { LargeWriteLease, ShardState } from '../ports.js';

export class InMemoryRollerLeases implements LargeWriteLease {
  private readonly shardStates: ShardState[];
  /** Roller -> when its announcement expires. */
  private readonly rollers = new Map<string, EpochMs>();
  /** The keyspace's facts (META_KEYS). */
  private readonly meta = new Map<string, string>();
  /** Who holds the large-write lease, until when. */
  private largeWrite: { owner: string; untilMs: EpochMs } | undefined;
  /** While true every call fails as Cassandra does when it is down, and isReady() is false. */
  unavailable = false;

  /** `firstSlot`: where every shard starts, as the migrate command sets it (by default the current slot). */
  constructor(
    firstSlot: number | undefined,
    protected readonly clock: () => EpochMs,
  ) {
    const nextSlot = firstSlot ?? slotOf(clock());
    this.shardStates = Array.from({ length: SHARDS }, () => ({ owner: '', leaseUntilMs: 0, nextSlot }));
  }

  async readShard(shard: number): Promise<ShardState> {
    this.check('read roller shard');
    return this.shardStates[shard]!;
  }

  async takeShard(shard: number, seen: ShardState, owner: string, untilMs: EpochMs): Promise<boolean> {
    this.check('take roller shard');
    const state = this.shardStates[shard]!;
    if (state.owner !== seen.owner || state.leaseUntilMs !== seen.leaseUntilMs) return false;
    this.shardStates[shard] = { ...state, owner, leaseUntilMs: untilMs };
    return true;
  }

  async keepShard(shard: number, owner: string, untilMs: EpochMs, nextSlot: number): Promise<boolean> {
    this.check('keep roller shard');
    const state = this.shardStates[shard]!;
    if (state.owner !== owner) return false;
    this.shardStates[shard] = { owner, leaseUntilMs: untilMs, nextSlot };
    return true;
  }

  async takeLargeWrite(owner: string, ttlSeconds: number): Promise<boolean> {
    this.check('take the large-write lease');
    if (this.largeWrite !== undefined && this.largeWrite.untilMs > this.clock()) return false;
    this.largeWrite = { owner, untilMs: this.clock() + ttlSeconds * 1000 };
    return true;
  }

  async releaseLargeWrite(owner: string): Promise<void> {
    this.check('release the large-write lease');
    if (this.largeWrite?.owner === owner) this.largeWrite = undefined;
  }

  async announceRoller(owner: string, ttlSeconds: number): Promise<void> {
    this.check('announce roller');
    this.rollers.set(owner, this.clock() + ttlSeconds * 1000);
  }

  async withdrawRoller(owner: string): Promise<void> {
    this.check('withdraw roller');
    this.rollers.delete(owner);
  }

  async liveRollers(): Promise<string[]> {
    this.check('read rollers');
    return [...this.rollers].filter(([, until]) => until > this.clock()).map(([owner]) => owner);
  }

  async readMeta(key: string): Promise<string | undefined> {
    this.check('read meta');
    return this.meta.get(key);
  }

  async writeMeta(key: string, value: string): Promise<void> {
    this.check('write meta');
    this.meta.set(key, value);
  }

  protected check(operation: string): void {
    if (this.unavailable) throw new StorageUnavailableError(`storage is unavailable (${operation})`);
  }
}
