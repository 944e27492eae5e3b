/** The services wired as compose.ts wires them, with test-sized defaults, and what a request hands them. */
import type { PointWriter, RangeReader } from '../../src/storage/ports.js';
import {
  createIngestService,
  type IngestRequest,
  type IngestService,
  type IngestServiceOptions,
} from '../../src/ingest/ingest-service.js';
import { createWriteScheduler, type WriteSchedulerOptions } from '../../src/ingest/write-scheduler.js';
import { createSearchService, type SearchService, type SearchServiceOptions } from '../../src/query/search-service.js';
import { REUSE_MS } from '../../src/rollup/roll-queue.js';
import { UNBOUNDED } from '../../src/work-scope.js';

/** The longest hold ingestService gives: its 20 s request timeout, 1 s landing margin, and the reuse window. */
export const TEST_MAX_HOLD_MS = 20_000 + 1_000 + REUSE_MS;
/** The clock margin of the services built here (roll-queue.ts clockMarginMs at a 1 s bound). */
export const TEST_CLOCK_MARGIN_MS = 2_000;

export function ingestService(
  writer: PointWriter,
  options: Partial<Omit<IngestServiceOptions, 'writer' | 'scheduler'>> & {
    readonly scheduler?: Partial<Omit<WriteSchedulerOptions, 'writer'>>;
  } = {},
): IngestService {
  const { scheduler, ...rest } = options;
  const pointsPerWrite = scheduler?.pointsPerWrite ?? rest.pointsPerWrite ?? 100;
  return createIngestService({
    writer,
    scheduler: createWriteScheduler({
      writer,
      concurrency: 4,
      maxQueuedPoints: 1_000_000,
      maxQueueDelayMs: 60_000,
      ...scheduler,
      pointsPerWrite,
    }),
    landingMarginMs: 1_000,
    ...rest,
    pointsPerWrite,
  });
}

export function searchService(
  reader: RangeReader,
  options: Partial<Omit<SearchServiceOptions, 'reader'>> = {},
): SearchService {
  return createSearchService({
    reader,
    concurrency: 4,
    maxSearches: 8,
    maxWaitingSearches: 64,
    maxPartitions: 100_000,
    maxHoldMs: TEST_MAX_HOLD_MS,
    clockMarginMs: TEST_CLOCK_MARGIN_MS,
    ...options,
  });
}

/** An insert request arriving now, with a deadline `timeoutMs` away that never fires on its own. */
export function insertRequest(
  options: { readonly receivedMs?: number; readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): IngestRequest {
  const receivedMs = options.receivedMs ?? Date.now();
  return {
    signal: options.signal ?? UNBOUNDED.signal,
    deadlineMs: receivedMs + (options.timeoutMs ?? 20_000),
    writeTimeUs: receivedMs * 1000,
  };
}
