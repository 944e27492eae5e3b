/** What the app keeps per request, typed on the Hono context. */
import type { WorkScope } from '../work-scope.js';

export interface RequestScope extends WorkScope {
  /** Microseconds since the epoch when the request arrived. */
  readonly receivedUs: number;
}

/** What the app keeps per request. */
export type AppEnv = { Variables: { scope: RequestScope } };
