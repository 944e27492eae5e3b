/**
 * The HTTP app: every request's scope and tokens, then Meetr's routes and the
 * Prometheus API as sub-apps, and one error handler for all of them.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import type { QueryEngine } from '../promql/query-engine.js';
import type { CatalogueService } from '../query/catalogue-service.js';
import type { AppEnv } from './app-env.js';
import { refusal, tokenOf, type Authenticator } from './auth.js';
import { errorHandler, errorResponse } from './error-handler.js';
import { createLog, type Log } from '../log.js';
import { createExplorer, type loadExplorer } from './explorer.js';
import { createMeetrApi, type MeetrApiOptions } from './meetr-api.js';
import { createPrometheusApi } from './prometheus-api.js';
import { requestScope, routeOfRequest } from './request-scope.js';
import { STATUS_PATH } from './routes.js';
import type { Telemetry } from './telemetry.js';

/** Meetr's routes' options, and what the app itself and the Prometheus API need. */
export interface AppOptions extends Omit<MeetrApiOptions, 'isDraining'> {
  readonly catalogue: CatalogueService;
  readonly engine: QueryEngine;
  /** meetr's version, as /api/v1/status/buildinfo reports it. */
  readonly version?: string;
  /** Tokens, when MEETR_AUTH_TOKENS_FILE turns them on; every route but /health then needs one. */
  readonly auth?: Authenticator;
  /** Every request is answered within this (503 past it), measured from its arrival at the worker. */
  readonly requestTimeoutMs: number;
  /** True once shutdown began: /health fails and connections are closed after their response. */
  readonly isDraining?: () => boolean;
  /** The process's log (error-handler.ts says what goes there); a log of its own on standard output without it. */
  readonly log?: Log;
  /** The explorer page's files (explorer.ts); without them GET / answers 404 saying how to build it. */
  readonly explorer?: ReturnType<typeof loadExplorer>;
  /** The stack's status for the explorer (GET /1.0/status); 404 without it. */
  readonly stackStatus?: () => Promise<unknown>;
}

/** The HTTP API: Meetr's /1.0/metrics, the Prometheus API and /health. Telemetry is served apart (telemetry-server.ts). */
export function createApp(options: AppOptions): Hono<AppEnv> {
  const { telemetry, isDraining = () => false } = options;
  const app = new Hono<AppEnv>({ strict: false }); // /1.0/metrics/ is /1.0/metrics
  app.use(requestScope({ ...options, isDraining }));
  if (options.auth !== undefined) app.use(tokensRequired(options.auth, telemetry));
  app.route('/', createMeetrApi({ ...options, isDraining }));
  app.route(
    '/',
    createPrometheusApi({
      engine: options.engine,
      catalogue: options.catalogue,
      maxBodyBytes: options.maxBodyBytes,
      version: options.version ?? 'dev',
    }),
  );
  const { stackStatus } = options;
  if (stackStatus !== undefined) app.get(STATUS_PATH, async (c) => c.json(await stackStatus()));
  app.route('/', createExplorer(options.explorer ?? new Map()));
  app.notFound((c) => errorResponse(c, 'not_found', `no such endpoint: ${c.req.method} ${c.req.path}`));
  app.onError(
    errorHandler({
      telemetry,
      log: options.log ?? createLog('meetr'),
    }),
  );
  return app;
}

/** With tokens on: every route but /health needs a token whose scope allows it (auth.ts), else 401 or 403. */
function tokensRequired(auth: Authenticator, telemetry: Telemetry): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = tokenOf(c.req.header('authorization'));
    const refused = refusal(
      routeOfRequest(c).requirement,
      token,
      token === undefined ? undefined : auth.authenticate(token),
      `${c.req.method} ${c.req.path}`,
    );
    if (refused !== undefined) {
      telemetry.authFailure(refused.failure);
      throw refused.error;
    }
    await next();
  };
}
