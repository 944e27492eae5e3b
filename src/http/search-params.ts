import { AGGREGATIONS } from '../domain/aggregate.js';
import { metricIdProblem } from '../domain/point.js';
import { clipped, invalidRequest, type ErrorDetail } from '../errors.js';
import type { SearchQuery } from '../query/search-service.js';
import { bucketBounds, TooManyBucketsError } from '../time/series-buckets.js';
import { INTERVAL_FORMS, parseInterval, parseTimestamp, type SeriesInterval } from '../time/time-text.js';
import { knownTimeZone } from '../time/zone.js';
import { fieldOf, missing, SEARCH_METRIC } from './field-aliases.js';

/** A search as the client asked for it: the validated query, and `from`/`to` exactly as given (echoed in the answer). */
export interface SearchParams {
  readonly query: SearchQuery;
  readonly fromText: string;
  readonly toText: string;
  /** For a series: its interval and the zone whose wall clock its buckets follow. */
  readonly series?: { readonly interval: SeriesInterval; readonly zone: string };
}

/** Looks up a query parameter; undefined when absent. */
export type QueryParam = (name: string) => string | undefined;

/**
 * Reads Meetr's query parameters (`metric`/`metric_id`, `from`, `to`, `aggregation`)
 * and the series' (`interval`, `tz`); throws invalid_request listing every problem.
 * `tz` (default `defaultTimeZone`) also reads `from` and `to` when they carry no
 * offset. The series' buckets are computed apart, by withSeriesBuckets.
 */
export function parseSearchParams(param: QueryParam, defaultTimeZone: string): SearchParams {
  const details: ErrorDetail[] = [];
  const zoneText = param('tz');
  const zone = zoneText === undefined ? defaultTimeZone : knownTimeZone(zoneText.trim());
  if (zone === undefined)
    details.push({
      field: 'tz',
      message: `"${clipped(zoneText ?? '')}" is not an IANA time zone (such as UTC, Europe/Berlin or Asia/Kolkata)`,
    });
  const intervalText = param('interval');
  const interval = intervalText === undefined ? undefined : parseInterval(intervalText);
  if (intervalText !== undefined && interval === undefined)
    details.push({
      field: 'interval',
      message: `"${clipped(intervalText)}" is not an interval; accepted: ${INTERVAL_FORMS}`,
    });
  const metricField = fieldOf(SEARCH_METRIC, (name) => param(name) !== undefined);
  const metricId = param(metricField) ?? '';
  const metricProblem = metricIdProblem(metricId); // the insert's own rule: an id it could never store is refused
  if (metricId.trim() === '') details.push({ field: SEARCH_METRIC[0], message: missing(SEARCH_METRIC) });
  else if (metricProblem !== undefined) details.push({ field: metricField, message: metricProblem });

  const bound = (field: 'from' | 'to'): { text: string; ms: number | undefined } => {
    const text = param(field) ?? '';
    if (text.trim() === '') {
      details.push({ field, message: 'is missing' });
      return { text, ms: undefined };
    }
    const parsed = parseTimestamp(text, zone ?? defaultTimeZone);
    if (!parsed.ok) details.push({ field, message: parsed.message });
    return { text, ms: parsed.ok ? parsed.ms : undefined };
  };
  const from = bound('from');
  const to = bound('to');

  const aggregationText = (param('aggregation') ?? '').trim().toLowerCase();
  const aggregation = AGGREGATIONS.find((name) => name === aggregationText);
  if (aggregationText === '')
    details.push({ field: 'aggregation', message: `is missing (one of ${AGGREGATIONS.join(', ')})` });
  else if (aggregation === undefined)
    details.push({ field: 'aggregation', message: `must be one of ${AGGREGATIONS.join(', ')}` });

  if (from.ms !== undefined && to.ms !== undefined && from.ms > to.ms) {
    details.push({ field: 'from', message: `is after "to" (${from.text} > ${to.text})` });
  }
  if (
    details.length > 0 ||
    aggregation === undefined ||
    from.ms === undefined ||
    to.ms === undefined ||
    zone === undefined
  ) {
    throw invalidRequest(`invalid search parameters: ${[...new Set(details.map((d) => d.field))].join(', ')}`, details);
  }
  return {
    query: { metricId, fromMs: from.ms, toMs: to.ms, aggregation },
    fromText: from.text,
    toText: to.text,
    ...(interval === undefined ? {} : { series: { interval, zone } }),
  };
}

/**
 * The query of `params` with its series' bucket bounds, if it asks for a series;
 * invalid_request naming `interval` past `maxBuckets`. Gives the event loop back
 * (`pause`) while a long series is computed.
 */
export async function withSeriesBuckets(
  params: SearchParams,
  maxBuckets: number,
  pause: () => Promise<void>,
): Promise<SearchQuery> {
  const { query, series } = params;
  if (series === undefined) return query;
  try {
    return {
      ...query,
      buckets: await bucketBounds(series.interval, series.zone, query.fromMs, query.toMs, maxBuckets, pause),
    };
  } catch (error) {
    if (!(error instanceof TooManyBucketsError)) throw error;
    throw invalidRequest(`the series would have more than ${maxBuckets} buckets (MEETR_MAX_SERIES_BUCKETS)`, [
      {
        field: 'interval',
        message: `${series.interval.text} from ${params.fromText} to ${params.toText} makes more than ${maxBuckets} buckets; use a longer interval or a shorter range`,
      },
    ]);
  }
}
