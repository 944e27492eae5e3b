/** How big each benchmark is: the quick preset, the full one. */
export interface BenchSizes {
  readonly ingestPoints: number;
  readonly ingestMetrics: number;
  /** Alternating rounds of (direct, API); medians are compared. */
  readonly ingestRounds: number;
  /**
   * Points of the backlog the roller's CPU a point is measured on (scenarios/rolling-cpu.ts);
   * 0 leaves it out: it waits a write's hold, about a minute, before the roller starts.
   */
  readonly rollingPoints: number;
  readonly apiBatch: number;
  readonly apiClients: number;
  readonly ceilingGrid: ReadonlyArray<{ readonly pointsPerBatch: number; readonly concurrency: number }>;
  readonly singleSeconds: number;
  readonly singleClients: number;
  /** Single-point POSTs per server in the worker-overhead comparison (no Cassandra). */
  readonly overheadRequests: number;
  readonly searchStepMs: number;
  /** Minutes of the dense metric (1,000 points a second). */
  readonly denseMinutes: number;
  readonly searchRepetitions: number;
  readonly naiveRepetitions: number;
  readonly memoryBatches: number;
  readonly memoryBatchPoints: number;
  /** Closed-loop seconds measuring capacity, then open-loop seconds at twice it. */
  readonly overloadCapacitySeconds: number;
  readonly overloadSeconds: number;
}

export const QUICK: BenchSizes = {
  ingestPoints: 100_000,
  ingestMetrics: 100,
  ingestRounds: 2,
  rollingPoints: 0,
  apiBatch: 1_000,
  apiClients: 8,
  ceilingGrid: [
    { pointsPerBatch: 50, concurrency: 64 },
    { pointsPerBatch: 100, concurrency: 128 },
  ],
  singleSeconds: 5,
  singleClients: 16,
  overheadRequests: 10_000,
  searchStepMs: 10 * 60_000,
  denseMinutes: 5,
  searchRepetitions: 15,
  naiveRepetitions: 3,
  memoryBatches: 2,
  memoryBatchPoints: 100_000,
  overloadCapacitySeconds: 5,
  overloadSeconds: 10,
};

export const FULL: BenchSizes = {
  ingestPoints: 500_000,
  ingestMetrics: 200,
  ingestRounds: 3,
  rollingPoints: 500_000,
  apiBatch: 1_000,
  apiClients: 8,
  ceilingGrid: [
    { pointsPerBatch: 25, concurrency: 64 },
    { pointsPerBatch: 50, concurrency: 128 },
    { pointsPerBatch: 100, concurrency: 128 },
    { pointsPerBatch: 100, concurrency: 256 },
  ],
  singleSeconds: 15,
  singleClients: 16,
  overheadRequests: 40_000,
  searchStepMs: 60_000,
  denseMinutes: 60,
  searchRepetitions: 30,
  naiveRepetitions: 5,
  memoryBatches: 6,
  memoryBatchPoints: 100_000,
  overloadCapacitySeconds: 10,
  overloadSeconds: 30,
};
