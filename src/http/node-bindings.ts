import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

/**
 * The Node request and response behind `c` when @hono/node-server serves it;
 * undefined in-process (`app.request()`), where only the web Request exists.
 */
export function nodeBindingsOf(c: Context): HttpBindings | undefined {
  const env: unknown = c.env;
  return typeof env === 'object' && env !== null && 'incoming' in env && 'outgoing' in env
    ? (env as HttpBindings)
    : undefined;
}
