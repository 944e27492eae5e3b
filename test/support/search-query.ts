import type { Aggregation } from '../../src/domain/aggregate.js';
import type { SearchQuery } from '../../src/query/search-service.js';

/** A search over [fromMs, toMs], both inclusive. */
export function query(metricId: string, fromMs: number, toMs: number, aggregation: Aggregation): SearchQuery {
  return { metricId, fromMs, toMs, aggregation };
}
