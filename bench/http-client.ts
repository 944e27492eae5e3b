/**
 * The benchmark's HTTP client: node:http with keep-alive connections. Much cheaper
 * per request than fetch (undici), so on a small machine the load generator takes
 * less CPU away from what it measures.
 */
import http from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/** One request; resolves with status and body, rejects on a network error or after `timeoutMs`. */
export function request(
  url: string,
  options: { method?: string; body?: string; contentType?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const { method = 'GET', body, contentType = 'application/x-www-form-urlencoded', timeoutMs = 120_000 } = options;
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders =
      body === undefined ? {} : { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) };
    const req = http.request(url, { method, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs a form body to `<base>/1.0/metrics`. */
export function postMetrics(base: string, body: string): Promise<HttpAnswer> {
  return request(`${base}/1.0/metrics`, { method: 'POST', body });
}
