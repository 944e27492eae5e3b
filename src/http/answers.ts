/** The JSON bodies meetr answers with: Meetr's search and insert answers, and the one error envelope. */
import type { ErrorCode, ErrorDetail } from '../errors.js';
import type { SearchResult } from '../query/search-service.js';
import { formatInZone } from '../time/zone.js';
import type { SearchParams } from './search-params.js';

/** Meetr's search answer: `from` and `to` echo the client's own text; a series adds its interval, zone and buckets. */
export function searchAnswer({ query, fromText, toText, series }: SearchParams, result: SearchResult) {
  const answer = {
    metric_id: query.metricId,
    from: fromText,
    to: toText,
    aggregation: query.aggregation,
    value: result.value,
    count: result.count,
  };
  if (series === undefined || result.series === undefined) return answer;
  return {
    ...answer,
    interval: series.interval.text,
    tz: series.zone,
    series: result.series.map(({ ts, value, count }) => ({ start: formatInZone(series.zone, ts), ts, value, count })),
  };
}

/** Meetr's insert answer. */
export function insertAnswer(inserted: number) {
  return { inserted };
}

/** `{"error": code, "message": ..., "details"?: [...]}`; details only when there are some. */
export function errorAnswer(code: ErrorCode, message: string, details?: readonly ErrorDetail[]) {
  return { error: code, message, ...(details === undefined || details.length === 0 ? {} : { details }) };
}
