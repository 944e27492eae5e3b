/**
 * Every request's route, read once from its method and path when it arrives
 * (request-scope.ts keeps it on the request): the name it is counted under in
 * /metrics, the protocol whose error envelope it answers in, and what it needs with
 * tokens on. The one place that tells Meetr's routes from the Prometheus API's.
 */
import type { Scope } from '../auth/tokens.js';
import {
  EXPLORER_ASSETS_PREFIX,
  METRICS_PATH,
  OTLP_METRICS_PATH,
  PROMETHEUS_API_PREFIX,
  REMOTE_WRITE_PATH,
  SERIES_PATH,
  STATUS_PATH,
} from './routes.js';

/** Whose error envelope a route answers in: Meetr's `{error, message, details}` or Prometheus' `{status, errorType, error}`. */
export type Protocol = 'meetr' | 'prometheus';

/** What a request needs: nothing, any valid token, or a token whose scope allows `scope` (admin allows all). */
export type Requirement =
  | { readonly kind: 'open' }
  | { readonly kind: 'token' }
  | { readonly kind: 'scope'; readonly scope: Exclude<Scope, 'admin'> };

export interface Route {
  /** Its name in /metrics: a known path, `/api/v1/<endpoint>`, or `other` (bounded label values). */
  readonly label: string;
  readonly protocol: Protocol;
  readonly requirement: Requirement;
}

const OPEN: Requirement = { kind: 'open' };
const READ: Requirement = { kind: 'scope', scope: 'read' };
const WRITE: Requirement = { kind: 'scope', scope: 'write' };
/** Anything else answers 404 or 405, but only to a holder of a token. */
const TOKEN: Requirement = { kind: 'token' };

const PROMETHEUS_ENDPOINTS = new Set(
  ['query', 'query_range', 'series', 'labels', 'metadata', 'query_exemplars', 'status/buildinfo', 'status/tsdb'].map(
    (name) => `${PROMETHEUS_API_PREFIX}/${name}`,
  ),
);
const LABEL_VALUES = `${PROMETHEUS_API_PREFIX}/label/`;

/** The route of a request (a trailing slash is the same route, as the app's routing has it). */
export function routeOf(method: string, path: string): Route {
  const route = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const reads = method === 'GET' || method === 'HEAD';
  const meetr = (label: string, requirement: Requirement): Route => ({ label, protocol: 'meetr', requirement });
  if (route === '/health') return meetr(route, OPEN);
  // The explorer page and its files hold no data: the page asks for a token itself.
  if (route === '/') return meetr(route, reads ? OPEN : TOKEN);
  if (path.startsWith(EXPLORER_ASSETS_PREFIX)) return meetr(EXPLORER_ASSETS_PREFIX, reads ? OPEN : TOKEN);
  if (route === METRICS_PATH) return meetr(route, reads ? READ : method === 'POST' ? WRITE : TOKEN);
  // Remote write and OTLP exporters only log what they are answered (by its status): both keep Meetr's envelope.
  if (route === REMOTE_WRITE_PATH || route === OTLP_METRICS_PATH)
    return meetr(route, method === 'POST' ? WRITE : TOKEN);
  if (route === SERIES_PATH || route === STATUS_PATH) return meetr(route, reads ? READ : TOKEN);
  if (route.startsWith(`${PROMETHEUS_API_PREFIX}/`)) {
    let label = 'other';
    if (PROMETHEUS_ENDPOINTS.has(route)) label = route;
    else if (route.startsWith(LABEL_VALUES)) label = `${LABEL_VALUES}values`;
    // The Prometheus API reads whether it is asked with GET or with a form POST (Grafana's default).
    return { label, protocol: 'prometheus', requirement: reads || method === 'POST' ? READ : TOKEN };
  }
  return meetr('other', TOKEN);
}
