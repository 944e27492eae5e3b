/** Answers in the Prometheus API's shapes: results by type, labels sorted, errors with their errorType. */
import type { Context } from 'hono';
import { compareText, type Labels } from '../domain/series.js';
import { statusOf, type ErrorCode } from '../errors.js';
import type { InstantResult } from '../promql/evaluator.js';
import { formatSampleValue, type RangeSeries, type RangeWindow } from '../promql/values.js';
import type { EpochMs } from '../time/units.js';
import type { AppEnv } from './app-env.js';

export function success(c: Context<AppEnv>, data: unknown): Response {
  return c.json({ status: 'success', data });
}

const seconds = (ms: number): number => ms / 1000;

/** Labels as Prometheus writes them: sorted by name. */
function sorted(labels: Labels): Labels {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => compareText(a, b)));
}

export function instantData(result: InstantResult, t: EpochMs): unknown {
  switch (result.type) {
    case 'scalar':
      return { resultType: 'scalar', result: [seconds(t), formatSampleValue(result.value)] };
    case 'string':
      return { resultType: 'string', result: [seconds(t), result.value] };
    case 'vector':
      return {
        resultType: 'vector',
        result: result.samples.map((s) => ({
          metric: sorted(s.labels),
          value: [seconds(t), formatSampleValue(s.value)],
        })),
      };
    case 'matrix':
      return { resultType: 'matrix', result: result.series.map(windowData) };
  }
}

function windowData({ labels, ts, values, first, last }: RangeWindow): unknown {
  const points: Array<[number, string]> = [];
  for (let i = first; i <= last; i++) points.push([seconds(ts[i]!), formatSampleValue(values[i]!)]);
  return { metric: sorted(labels), values: points };
}

/**
 * A range query's answer, written as JSON text directly: a day at 1m of a hundred
 * series is 144,000 points, and no array is made for any of them. A time in seconds
 * is written as JSON.stringify writes a number; a value as a string of digits, sign,
 * point, exponent, NaN or Inf, which needs no escaping.
 */
export function matrixAnswer(c: Context<AppEnv>, series: readonly RangeSeries[]): Response {
  const parts: string[] = [];
  // Every series steps through the same times: each time's text is made once.
  const times = new Map<number, string>();
  const time = (t: number): string => {
    let text = times.get(t);
    if (text === undefined) times.set(t, (text = `[${seconds(t)},"`));
    return text;
  };
  for (const { labels, ts, values } of series) {
    const points = new Array<string>(ts.length);
    for (let i = 0; i < ts.length; i++) points[i] = `${time(ts[i]!)}${formatSampleValue(values[i]!)}"]`;
    parts.push(`{"metric":${JSON.stringify(sorted(labels))},"values":[${points.join(',')}]}`);
  }
  const body = `{"status":"success","data":{"resultType":"matrix","result":[${parts.join(',')}]}}`;
  return c.body(body, 200, { 'Content-Type': 'application/json' });
}

/** Prometheus' errorType for each meetr error code. */
function errorTypeOf(code: ErrorCode): string {
  switch (code) {
    case 'query_too_large':
    case 'query_failed':
    case 'not_representable':
      return 'execution';
    case 'storage_unavailable':
    case 'overloaded':
      return 'unavailable';
    case 'deadline_exceeded':
    case 'request_timeout':
      return 'timeout';
    case 'not_found':
      return 'not_found';
    case 'internal_error':
      return 'internal';
    default:
      return 'bad_data';
  }
}

/** An error as the Prometheus API answers it: `{"status":"error","errorType":...,"error":...}`. */
export function prometheusError(
  code: ErrorCode,
  message: string,
): { status: ReturnType<typeof statusOf>; body: { status: 'error'; errorType: string; error: string } } {
  return { status: statusOf(code), body: { status: 'error', errorType: errorTypeOf(code), error: message } };
}
