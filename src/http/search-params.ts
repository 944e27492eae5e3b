import { AGGREGATIONS } from '../domain/aggregate.js';
import { MAX_METRIC_ID_LENGTH } from '../domain/point.js';
import { invalidRequest, type ErrorDetail } from '../errors.js';
import type { SearchQuery } from '../query/search-service.js';
import { parseTimestamp } from '../time/timestamp.js';

/** A search as the client asked for it: the validated query, and `from`/`to` exactly as given (echoed in the answer). */
export interface SearchParams {
  readonly query: SearchQuery;
  readonly fromText: string;
  readonly toText: string;
}

/** Looks up a query parameter; undefined when absent. */
export type QueryParam = (name: string) => string | undefined;

/** Reads Meetr's query parameters (`metric`/`metric_id`, `from`, `to`, `aggregation`); throws invalid_request listing every problem. */
export function parseSearchParams(param: QueryParam, defaultTimeZone: string): SearchParams {
  const details: ErrorDetail[] = [];
  const metricField = param('metric') !== undefined ? 'metric' : 'metric_id';
  const metricId = param(metricField) ?? '';
  if (metricId.trim() === '') details.push({ field: 'metric', message: 'is missing (metric or metric_id)' });
  else if (metricId.length > MAX_METRIC_ID_LENGTH) details.push({ field: metricField, message: `must be at most ${MAX_METRIC_ID_LENGTH} characters` });

  const bound = (field: 'from' | 'to'): { text: string; ms: number | undefined } => {
    const text = param(field) ?? '';
    if (text.trim() === '') {
      details.push({ field, message: 'is missing' });
      return { text, ms: undefined };
    }
    const parsed = parseTimestamp(text, defaultTimeZone);
    if (!parsed.ok) details.push({ field, message: parsed.message });
    return { text, ms: parsed.ok ? parsed.ms : undefined };
  };
  const from = bound('from');
  const to = bound('to');

  const aggregationText = (param('aggregation') ?? '').trim().toLowerCase();
  const aggregation = AGGREGATIONS.find((name) => name === aggregationText);
  if (aggregationText === '') details.push({ field: 'aggregation', message: `is missing (one of ${AGGREGATIONS.join(', ')})` });
  else if (aggregation === undefined) details.push({ field: 'aggregation', message: `must be one of ${AGGREGATIONS.join(', ')}` });

  if (from.ms !== undefined && to.ms !== undefined && from.ms > to.ms) {
    details.push({ field: 'from', message: `is after "to" (${from.text} > ${to.text})` });
  }
  if (details.length > 0 || aggregation === undefined || from.ms === undefined || to.ms === undefined) {
    throw invalidRequest(`invalid search parameters: ${[...new Set(details.map((d) => d.field))].join(', ')}`, details);
  }
  return { query: { metricId, fromMs: from.ms, toMs: to.ms, aggregation }, fromText: from.text, toText: to.text };
}
