/**
 * The services and a roller over one in-memory store on a test clock, and the
 * points written through them as a scan would see them: what the search and
 * sealing tests compare answers against.
 */
import { slotOf } from '../../src/rollup/roll-queue.js';
import { DecodedChunks } from '../../src/query/decoded-chunks.js';
import { Roller } from '../../src/roller/roller.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';
import { ingestService, insertRequest, searchService, TEST_CLOCK_MARGIN_MS } from './services.js';

export function rollingWorld(startMs: number) {
  const clock = { now: startMs };
  const store = new InMemoryPointStore(slotOf(clock.now), () => clock.now);
  const ingest = ingestService(store, { clock: () => clock.now });
  const search = searchService(store, { clock: () => clock.now });
  // The same reads keeping decoded chunks, in a cache small enough that hours come and go.
  const cachedSearch = searchService(store, { clock: () => clock.now, decodedChunks: new DecodedChunks(64) });
  const roller = new Roller({
    store,
    owner: 'r1',
    concurrency: 4,
    clockMarginMs: TEST_CLOCK_MARGIN_MS,
    clock: () => clock.now,
  });
  /** Metric -> ts -> the value last written. */
  const raw = new Map<string, Map<number, number>>();
  return {
    clock,
    store,
    ingest,
    search,
    cachedSearch,
    roller,
    raw,
    /** Writes points through the ingest service, as one request arriving now. */
    async write(metricId: string, points: ReadonlyArray<readonly [number, number]>) {
      await ingest.ingest(
        points.map(([ts, value]) => ({ metricId, ts, value })),
        insertRequest({ receivedMs: clock.now }),
      );
      const stored = raw.get(metricId) ?? new Map<number, number>();
      for (const [ts, value] of points) stored.set(ts, value);
      raw.set(metricId, stored);
      clock.now += 1;
    },
  };
}
