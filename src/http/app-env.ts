/** What the app keeps per request, typed on the Hono context. */
import type { WorkScope } from '../work-scope.js';
import type { Route } from './route-table.js';

export interface RequestScope extends WorkScope {
  /** Microseconds since the epoch when the request arrived. */
  readonly receivedUs: number;
  /** HAProxy's X-Request-Id (its unique-id), or one the worker made: echoed in the answer and in every log line about the request. */
  readonly requestId: string;
}

/** What the app keeps per request. */
export type AppEnv = { Variables: { scope: RequestScope; route: Route } };
