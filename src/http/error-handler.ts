/**
 * Errors into answers, once for every route: a MeetrError's code gives the status
 * (errors.ts) and the envelope the route's protocol uses; 5xx answers of ours are
 * counted and logged with the request's fields, at a bounded rate; anything else is
 * an internal error, logged whole and answered without its details.
 */
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { forLog, MeetrError, OverloadedError, statusOf, type ErrorCode, type ErrorDetail } from '../errors.js';
import { errorAnswer } from './answers.js';
import type { AppEnv } from './app-env.js';
import { prometheusError } from './prometheus-answers.js';
import { requestFields, routeOfRequest } from './request-scope.js';
import type { Telemetry } from './telemetry.js';
import { errorField, type Log } from '../log.js';

export interface ErrorHandlerOptions {
  readonly telemetry: Telemetry;
  /**
   * The process's log, with the request's fields (request_id, method, path) on each
   * line: unexpected errors and storage failures as errors (never told the client),
   * other answers of ours with a 5xx (a deadline, a shed request, a clock refusal) as warnings.
   */
  readonly log: Log;
}

const RETRY_AFTER_SECONDS = '1';

/** Storage failures are logged at most once per this long, with how many were not, so an outage does not flood the log. */
const STORAGE_LOG_INTERVAL_MS = 10_000;
/** Other 5xx answers (deadlines, shedding, clock refusals): at most this many lines per code in that interval. */
const WARNINGS_PER_INTERVAL = 10;

/** The app's onError. */
export function errorHandler(options: ErrorHandlerOptions): ErrorHandler<AppEnv> {
  const { telemetry, log } = options;
  const logStorageFailure = storageFailureLog(log);
  const logServerError = serverErrorLog(log);
  return (error, c) => {
    if (error instanceof MeetrError) {
      if (error.code === 'storage_unavailable') {
        telemetry.storageError(routeOfRequest(c).label);
        logStorageFailure(c, error);
      } else if (statusOf(error.code) >= 500) {
        logServerError(c, error);
      }
      if (error instanceof OverloadedError) telemetry.requestShed(routeOfRequest(c).label, error.reason);
      if (error.code === 'deadline_exceeded') telemetry.deadlineExceeded(routeOfRequest(c).label);
      if (error.code === 'clock_skew') telemetry.clockRefusal(routeOfRequest(c).label);
      return errorResponse(c, error.code, error.message, error.details);
    }
    if (error instanceof HTTPException && error.status < 500) {
      return errorResponse(
        c,
        error.status === 413 ? 'payload_too_large' : 'invalid_request',
        error.message || 'bad request',
      );
    }
    log.error(`unexpected error on ${c.req.method} ${c.req.path}`, {
      ...requestFields(c),
      error: errorField(error, true),
    });
    return errorResponse(c, 'internal_error', 'internal error; the request may be retried');
  };
}

/** Storage failures: one line per interval, with how many were left out since the last. */
function storageFailureLog(log: Log): (c: Context<AppEnv>, error: MeetrError) => void {
  let storageLoggedAt = Number.NEGATIVE_INFINITY;
  let storageUnlogged = 0;
  return (c, error) => {
    const now = Date.now();
    if (now - storageLoggedAt < STORAGE_LOG_INTERVAL_MS) {
      storageUnlogged++;
      return;
    }
    const more = storageUnlogged === 0 ? '' : ` (${storageUnlogged} more since the last line)`;
    storageLoggedAt = now;
    storageUnlogged = 0;
    log.error(`503 on ${c.req.method} ${c.req.path}${more}`, {
      ...requestFields(c),
      error: errorField(forLog(error), true),
    });
  };
}

/** Other 5xx answers: at most WARNINGS_PER_INTERVAL lines per code and interval, then how many were not logged. */
function serverErrorLog(log: Log): (c: Context<AppEnv>, error: MeetrError) => void {
  /** Per error code: lines written in the current interval, and how many were left out. */
  const warned = new Map<string, { since: number; lines: number; unlogged: number }>();
  return (c, error) => {
    const now = Date.now();
    let count = warned.get(error.code);
    if (count === undefined || now - count.since >= STORAGE_LOG_INTERVAL_MS) {
      if (count !== undefined && count.unlogged > 0)
        log.warn(`${count.unlogged} more ${error.code} answers were not logged`, { code: error.code });
      count = { since: now, lines: 0, unlogged: 0 };
      warned.set(error.code, count);
    }
    if (count.lines >= WARNINGS_PER_INTERVAL) {
      count.unlogged++;
      return;
    }
    count.lines++;
    log.warn(`${statusOf(error.code)} ${error.code} on ${c.req.method} ${c.req.path}: ${error.message}`, {
      ...requestFields(c),
      code: error.code,
    });
  };
}

export function errorResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  details?: readonly ErrorDetail[],
): Response {
  const status = statusOf(code);
  if (status === 503) c.header('Retry-After', RETRY_AFTER_SECONDS);
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="meetr", Basic realm="meetr", charset="UTF-8"');
  if (status === 408) c.header('Connection', 'close'); // the rest of the body was never read
  // Each route answers in its protocol's envelope (route-table.ts).
  if (routeOfRequest(c).protocol === 'prometheus') {
    const answer = prometheusError(code, message);
    return c.json(answer.body, answer.status);
  }
  return c.json(errorAnswer(code, message, details), status);
}
