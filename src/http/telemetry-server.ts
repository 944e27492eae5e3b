/**
 * A worker's or roller's private listener: GET /metrics (Prometheus text) and, for a
 * roller, GET /health, on 127.0.0.1 at a port HAProxy never routes to. The public
 * app has no /metrics at all, so no spelling of the path (`/%6Detrics`, `/./metrics`,
 * `/x/../metrics`) reaches a registry through :8888.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** A /health answer: its status and JSON body. */
export interface Health {
  readonly status: number;
  readonly body: unknown;
}

export interface TelemetryServerOptions {
  readonly registry: Registry;
  readonly port: number;
  /** GET /health on this listener: its status code and JSON body. */
  readonly health?: () => Health;
}

/** Listens on 127.0.0.1:`port`; resolves once listening, rejects when the port cannot be had. */
export function serveTelemetry({ registry, port, health }: TelemetryServerOptions): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response
        .writeHead(405, { 'content-type': 'application/json', allow: 'GET, HEAD' })
        .end(JSON.stringify({ error: 'method_not_allowed', message: `${request.method} is not allowed here` }));
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) =>
          response
            .writeHead(503, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: 'unavailable', message: String(error) })),
      );
    } else if (path === '/health' && health !== undefined) {
      const answer = health();
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: 'not_found',
          message: `no such endpoint: ${path}; this listener serves /metrics${health === undefined ? '' : ' and /health'}`,
        }),
      );
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
