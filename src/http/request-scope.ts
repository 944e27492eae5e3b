/**
 * What every request gets before its route runs: a scope with its deadline and a
 * signal that fires at it or when the client goes away, its arrival time (HAProxy's
 * stamp), its request id, echoed in the answer, and its route (route-table.ts);
 * then its line in telemetry.
 */
import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { clientGone, deadlineExceeded } from '../errors.js';
import type { AppEnv } from './app-env.js';
import { nodeBindingsOf } from './node-bindings.js';
import { routeOf, type Route } from './route-table.js';
import type { Telemetry } from './telemetry.js';

/**
 * Set by HAProxy on every request it forwards (haproxy.cfg): when the request reached
 * it, in microseconds since the epoch. A request HAProxy replays on another worker
 * keeps it, so its points are stored under the time it first arrived.
 */
export const RECEIVED_HEADER = 'x-meetr-received-us';
/** How far HAProxy's arrival time may lie from the worker's clock before the worker's own is used instead. */
const RECEIVED_TOLERANCE_US = 60_000_000;

export interface RequestScopeOptions {
  readonly telemetry: Telemetry;
  /** Sent as X-Meetr-Worker on every response. */
  readonly workerId: string;
  /** Every request is answered within this (503 past it), measured from its arrival at the worker. */
  readonly requestTimeoutMs: number;
  /** True once shutdown began: connections are closed after their response. */
  readonly isDraining: () => boolean;
}

/** The middleware that gives each request its scope (`c.get('scope')`) and counts it in telemetry. */
export function requestScope(options: RequestScopeOptions): MiddlewareHandler<AppEnv> {
  const { telemetry, workerId, requestTimeoutMs, isDraining } = options;
  return async (c, next) => {
    const started = performance.now();
    const nowMs = Date.now();
    // The request's deadline, and the client going away, end its work.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(deadlineExceeded(requestTimeoutMs)), requestTimeoutMs);
    const requestId = requestIdOf(c.req.header(REQUEST_ID_HEADER));
    c.set('route', routeOf(c.req.method, c.req.path));
    c.set('scope', {
      signal: controller.signal,
      deadlineMs: nowMs + requestTimeoutMs,
      receivedUs: receivedUs(c.req.header(RECEIVED_HEADER), nowMs),
      requestId,
    });
    // Set before the handler answers, on the Node response where there is one: adding a header to a
    // finished web Response would make @hono/node-server materialise it.
    const outgoing = nodeBindingsOf(c)?.outgoing;
    const onClose = (): void => {
      if (outgoing !== undefined && !outgoing.writableFinished) controller.abort(clientGone());
    };
    if (outgoing !== undefined) {
      outgoing.setHeader('X-Meetr-Worker', workerId);
      outgoing.setHeader('X-Request-Id', requestId);
      if (isDraining()) outgoing.setHeader('Connection', 'close');
      outgoing.once('close', onClose);
    } else {
      c.header('X-Meetr-Worker', workerId);
      c.header('X-Request-Id', requestId);
      if (isDraining()) c.header('Connection', 'close');
    }
    try {
      await next();
    } finally {
      clearTimeout(timer);
    }
    telemetry.observeRequest(routeOfRequest(c).label, c.req.method, c.res.status, (performance.now() - started) / 1000);
  };
}

/** Set by HAProxy on every request (unique-id-header in haproxy.cfg). */
const REQUEST_ID_HEADER = 'x-request-id';

/** HAProxy's request id when it looks like one (printable, short), else a new one: a client's header never reaches a log unchecked. */
function requestIdOf(header: string | undefined): string {
  return header !== undefined && /^[A-Za-z0-9._:+/=-]{1,128}$/.test(header) ? header : randomUUID();
}

/** What every log line about a request carries. */
export function requestFields(c: Context<AppEnv>): Record<string, string> {
  return { request_id: c.get('scope')?.requestId ?? '', method: c.req.method, path: c.req.path };
}

/** The request's arrival in µs: HAProxy's stamp when it is plausible, else the worker's clock. */
function receivedUs(stamp: string | undefined, nowMs: number): number {
  const nowUs = nowMs * 1000;
  if (stamp !== undefined && /^\d{1,17}$/.test(stamp)) {
    const us = Number(stamp);
    if (Math.abs(us - nowUs) <= RECEIVED_TOLERANCE_US) return us;
  }
  return nowUs;
}

/** The request's route (route-table.ts), as read when it arrived. */
export function routeOfRequest(c: Context<AppEnv>): Route {
  const route: Route | undefined = c.get('route'); // unset only for a request that never passed requestScope
  return route ?? routeOf(c.req.method, c.req.path);
}
