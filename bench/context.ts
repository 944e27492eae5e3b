import type { CassandraPointStore } from '../src/storage/cassandra/point-store.js';
import type { RollerControl } from './roller-control.js';

/** What every scenario gets: where meetr answers, and meetr's own storage adapter for the baselines. */
export interface BenchContext {
  /** meetr's public URL (HAProxy). */
  readonly apiUrl: string;
  /** Every worker's own URL, for the straight-to-worker figures. */
  readonly workerUrls: readonly string[];
  /** Every worker's loopback telemetry listener (MEETR_TELEMETRY_PORT), for memory and CPU sampling; same order. */
  readonly telemetryUrls: readonly string[];
  /** The storage adapter the workers use, on its own client: the baselines write and read through it. */
  readonly store: CassandraPointStore;
  readonly seed: number;
  readonly progress: (line: string) => void;
  readonly roller: RollerControl;
}
