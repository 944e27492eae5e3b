/**
 * The Prometheus API's parameters: a form body (POST) before the query string, as
 * Go's Request.Form; times as float seconds or RFC 3339, durations as seconds or
 * PromQL durations, `match[]` selectors, and the errors Prometheus gives for each.
 */
import type { Context } from 'hono';
import type { CompiledMatcher } from '../domain/series.js';
import { invalidRequest, MeetrError } from '../errors.js';
import { parseQuery, type QueryLimits } from '../promql/query-engine.js';
import { parsePrometheusDuration, parsePrometheusTime } from '../time/time-text.js';
import type { EpochMs } from '../time/units.js';
import type { AppEnv } from './app-env.js';
import { readRequestBody } from './request-body.js';
import { parseContentType } from '../media-type.js';

/** A request's parameters: the form body (POST) first, then the query string, as Go's Request.Form. */
export interface Params {
  get(name: string): string | undefined;
  all(name: string): string[];
}

export async function paramsOf(c: Context<AppEnv>, maxBodyBytes: number): Promise<Params> {
  const url = new URL(c.req.url).searchParams;
  let form = new URLSearchParams();
  if (c.req.method === 'POST') {
    const type = parseContentType(c.req.header('content-type')).mediaType;
    if (type !== 'application/x-www-form-urlencoded' && type !== '') {
      throw new MeetrError(
        'unsupported_media_type',
        `Content-Type ${type} is not accepted; POST the parameters form-encoded (application/x-www-form-urlencoded)`,
      );
    }
    form = new URLSearchParams((await readRequestBody(c, maxBodyBytes, c.get('scope').signal)).toString('utf8'));
  }
  return {
    get: (name) => form.get(name) ?? url.get(name) ?? undefined,
    all: (name) => [...form.getAll(name), ...url.getAll(name)],
  };
}

export function badParameter(name: string, message: string): MeetrError {
  return invalidRequest(`invalid parameter "${name}": ${message}`, [{ field: name, message }]);
}

export function timeParam(params: Params, name: string, fallback: EpochMs | undefined): EpochMs {
  const text = params.get(name);
  if (text === undefined || text === '') {
    if (fallback === undefined) throw badParameter(name, `cannot parse "" to a valid timestamp`);
    return fallback;
  }
  const ms = parsePrometheusTime(text);
  if (ms === undefined) throw badParameter(name, `cannot parse ${JSON.stringify(text)} to a valid timestamp`);
  return ms;
}

/** A step or timeout: float seconds or a Prometheus duration; in ms. */
export function durationParam(params: Params, name: string): number {
  const text = params.get(name) ?? '';
  const ms = parsePrometheusDuration(text);
  if (ms === undefined) throw badParameter(name, `cannot parse ${JSON.stringify(text)} to a valid duration`);
  return ms;
}

/** A whole-number parameter from 1 to `max` (`fallback` when absent); undefined when it is anything else. */
export function countParam(params: Params, name: string, fallback: number, max: number): number | undefined {
  const text = params.get(name) ?? String(fallback);
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  return n >= 1 && n <= max ? n : undefined;
}

/** The `match[]` selectors as matcher sets; each must hold a matcher that does not match the empty string. */
export function matcherSets(params: Params): CompiledMatcher[][] {
  return params.all('match[]').map((text) => {
    const expr = parseQuery(text);
    if (expr.kind !== 'vector' || expr.offsetMs !== 0 || expr.at !== undefined)
      throw invalidRequest(`invalid parameter "match[]": ${JSON.stringify(text)} is not a series selector`, [
        { field: 'match[]', message: 'must be a series selector' },
      ]);
    return [...expr.matchers];
  });
}

/** The `timeout` parameter, if given: a query's own time bound. */
export function limitsOf(params: Params): QueryLimits {
  if (params.get('timeout') === undefined || params.get('timeout') === '') return {};
  const timeoutMs = durationParam(params, 'timeout');
  return { timeoutMs };
}
