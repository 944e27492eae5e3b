/**
 * From what a client sent to a list of unvalidated point records. Three shapes
 * arrive: Meetr's form fields (single point, or `batch` + a JSON `metrics` array,
 * in a urlencoded or multipart body), and JSON bodies (one point, an array, or
 * `{"metrics": [...]}`). Meetr's field aliases are known here and nowhere else.
 */
import { invalidRequest, MeetrError } from '../errors.js';

/**
 * The unvalidated points of a POST body with media type `mediaType` (`contentType`
 * is the whole header, for multipart's boundary). As in the original Meetr, form
 * fields may also come in the query string. Throws invalid_request,
 * payload_too_large (over `maxBatch` points) or unsupported_media_type.
 */
export async function decodePointInputs(
  body: Buffer,
  contentType: string,
  mediaType: string,
  fromQuery: FormField,
  maxBatch: number,
): Promise<PointInput[]> {
  if (mediaType === 'multipart/form-data') {
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
    } catch {
      throw invalidRequest('the multipart/form-data body could not be read', [{ field: 'body', message: 'is not valid multipart' }]);
    }
    return pointInputsFromForm((name) => {
      const value = form.get(name);
      return typeof value === 'string' ? value : fromQuery(name);
    }, maxBatch);
  }
  const text = body.toString('utf8');
  const isJson = mediaType === 'application/json' || mediaType.endsWith('+json') || (mediaType !== 'application/x-www-form-urlencoded' && /^\s*[[{]/.test(text));
  if (isJson) return pointInputsFromJsonText(text, maxBatch);
  if (mediaType === 'application/x-www-form-urlencoded' || mediaType === '' || mediaType === 'text/plain') {
    const params = new URLSearchParams(text);
    return pointInputsFromForm((name) => params.get(name) ?? fromQuery(name), maxBatch);
  }
  throw new MeetrError('unsupported_media_type', `Content-Type ${mediaType} is not accepted; send application/x-www-form-urlencoded, multipart/form-data or application/json`);
}

/** One point as the client wrote it: not yet checked, and from JSON possibly not even an object. */
export type PointInput = unknown;

/** Looks up a form field; undefined when absent. */
export type FormField = (name: string) => string | undefined;

/** The points of a form body. Batch mode: `batch` present with any value, or `metrics` without `metric_id`. */
export function pointInputsFromForm(field: FormField, maxBatch: number): PointInput[] {
  const metrics = field('metrics');
  const single = field('metric_id') ?? field('metric');
  if (field('batch') !== undefined || (metrics !== undefined && single === undefined)) {
    if (metrics === undefined) {
      throw invalidRequest('a batch needs a "metrics" field: a JSON array of {metric_id, ts, value}', [
        { field: 'metrics', message: 'is missing' },
      ]);
    }
    return pointInputsFromJsonText(metrics, maxBatch, 'metrics');
  }
  const point: Record<string, unknown> = {};
  for (const name of ['metric_id', 'metric', 'ts', 'timestamp', 'value']) {
    const value = field(name);
    if (value !== undefined) point[name] = value;
  }
  return [point];
}

/** The points of a JSON text: one object, an array of them, or `{"metrics": [...]}`. */
export function pointInputsFromJsonText(text: string, maxBatch: number, field = 'body'): PointInput[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'syntax error';
    throw invalidRequest(`${field} is not valid JSON: ${reason}`, [{ field, message: 'is not valid JSON' }]);
  }
  return pointInputsFromJson(parsed, maxBatch, field);
}

export function pointInputsFromJson(parsed: unknown, maxBatch: number, field = 'body'): PointInput[] {
  let list: unknown;
  if (Array.isArray(parsed)) list = parsed;
  else if (isObject(parsed) && 'metrics' in parsed) {
    field = field === 'body' ? 'metrics' : field;
    // Meetr's form shape sent as JSON: "metrics" holds the array as a JSON string.
    if (typeof parsed.metrics === 'string') return pointInputsFromJsonText(parsed.metrics, maxBatch, field);
    list = parsed.metrics;
  } else if (isObject(parsed)) list = [parsed];
  else throw invalidRequest(`${field} must be a point object, an array of them, or {"metrics": [...]}`, [{ field, message: 'has the wrong shape' }]);

  if (!Array.isArray(list)) {
    throw invalidRequest(`${field} must be an array of points`, [{ field, message: 'is not an array' }]);
  }
  if (list.length === 0) throw invalidRequest('the request has no points', [{ field, message: 'is an empty array' }]);
  if (list.length > maxBatch) {
    throw new MeetrError('payload_too_large', `the batch has ${list.length} points; at most ${maxBatch} are accepted per request`, [
      { field, message: `has more than ${maxBatch} points` },
    ]);
  }
  return list as PointInput[]; // an array of anything: validation looks at each
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
