import type { Context } from 'hono';
import { MeetrError } from '../errors.js';
import { pointInputsFromForm, pointInputsFromJsonText, type PointInput } from '../ingest/point-input.js';

/**
 * The unvalidated points of a POST, whatever its body: form-encoded (read as text and
 * parsed with URLSearchParams, much faster than Hono's parseBody), multipart, or JSON.
 * As in the original Meetr, form fields may also come in the query string.
 */
export async function readPointInputs(c: Context, maxBatch: number): Promise<PointInput[]> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const fromQuery = (name: string): string | undefined => c.req.query(name);

  if (type === 'multipart/form-data') {
    let body: Record<string, string | File | (string | File)[]>;
    try {
      body = await c.req.parseBody();
    } catch {
      throw new MeetrError('invalid_request', 'the multipart/form-data body could not be read', [{ field: 'body', message: 'is not valid multipart' }]);
    }
    return pointInputsFromForm((name) => {
      const value = body[name];
      return typeof value === 'string' ? value : fromQuery(name);
    }, maxBatch);
  }

  const text = await c.req.text();
  const isJson = type === 'application/json' || type.endsWith('+json') || (type !== 'application/x-www-form-urlencoded' && /^\s*[[{]/.test(text));
  if (isJson) return pointInputsFromJsonText(text, maxBatch);
  if (type === 'application/x-www-form-urlencoded' || type === '' || type === 'text/plain') {
    const params = new URLSearchParams(text);
    return pointInputsFromForm((name) => params.get(name) ?? fromQuery(name), maxBatch);
  }
  throw new MeetrError('unsupported_media_type', `Content-Type ${type} is not accepted; send application/x-www-form-urlencoded, multipart/form-data or application/json`);
}
