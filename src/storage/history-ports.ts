/**
 * What sealing history needs of storage beyond rolling (roller/history-seal.ts):
 * the keyspace's facts, every hour partition of raw points and, for rows written
 * before raw rows expired (they carry no TTL), a way to drop them once sealed.
 */
import type { RollupStore } from './ports.js';

export interface HistoryStore extends RollupStore {
  /** A fact about the keyspace (META_KEYS), or undefined when not recorded. */
  readMeta(key: string): Promise<string | undefined>;
  writeMeta(key: string, value: string): Promise<void>;
  /** Every (metric, hour) partition of raw points, in no useful order. */
  sampleHours(): AsyncIterable<SampleHour>;
  /** Whether the hour's first raw row carries no TTL: written before raw rows expired, or while they were kept forever. */
  keptForever(metricId: string, hour: number): Promise<boolean>;
  /** The time (µs) the hour's stored chunk was sealed as of, which is its write time; undefined when it has none. */
  chunkSealedAt(metricId: string, hour: number): Promise<number | undefined>;
  /** Deletes the hour's raw rows and special samples written as of `asOfUs` or earlier; later writes stay. */
  dropSampleHour(metricId: string, hour: number, asOfUs: number): Promise<void>;
}

/** One hour partition of one metric's raw points. */
export interface SampleHour {
  readonly metricId: string;
  readonly hour: number;
}

/** Facts about a keyspace in its meta table: upgrades done and under way. */
export const META_KEYS = {
  /** When a copy of an older layout's `points` began (storage/cassandra/upgrade.ts). */
  legacyCopyStarted: 'legacy_points_copy_started',
  /** When that copy was finished. */
  legacyCopied: 'legacy_points_copied',
  /** When every hour written before sealed chunks existed was sealed (roller/history-seal.ts). */
  historySealed: 'history_sealed',
  /** When the rows of those hours that carry no TTL were dropped, their chunks holding them (roller/history-seal.ts). */
  historyDropped: 'history_rows_dropped',
} as const;
