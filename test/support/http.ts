/** Small HTTP helpers for the functional suite: requests as a client sends them, through HAProxy. */
import { request } from 'node:http';
import { inject } from 'vitest';
import type { ApiAnswer } from './answers.js';

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: ApiAnswer | undefined;
  readonly text: string;
}

export function baseUrl(): string {
  return inject('stack').baseUrl;
}

export async function call(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${baseUrl()}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  let body: ApiAnswer | undefined;
  try {
    body = JSON.parse(text) as ApiAnswer;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** GET with the path exactly as written (fetch would normalise `/./x`, `/a/../x` and case of escapes). */
export function rawGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(baseUrl());
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: 'GET', headers, timeout: 30_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: response.headers,
          }),
        );
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.end();
  });
}

export function postForm(fields: Record<string, string>): Promise<Answer> {
  return call('/1.0/metrics', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

export function postJson(body: unknown): Promise<Answer> {
  return call('/1.0/metrics', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export function search(params: Record<string, string>): Promise<Answer> {
  return call(`/1.0/metrics?${new URLSearchParams(params).toString()}`);
}

/** Whether every worker answers /health through HAProxy (HAProxy spreads 3 requests per worker over them all). */
export async function allWorkersServe(): Promise<boolean> {
  const workerPorts = inject('stack').workerPorts;
  const seen = new Set<string>();
  for (let i = 0; i < 3 * workerPorts.length; i++) {
    const answer = await call('/health');
    if (answer.status !== 200) return false;
    seen.add(answer.headers.get('x-meetr-worker') ?? '');
  }
  return seen.size === workerPorts.length;
}
