/**
 * From what a client sent to a list of unvalidated point records. Three shapes
 * arrive: Meetr's form fields (single point, or `batch` + a JSON `metrics` array),
 * and JSON bodies (one point, an array, or `{"metrics": [...]}`).
 */
import { invalidRequest, MeetrError } from '../errors.js';

/** One point as the client wrote it: fields not yet checked. */
export type PointInput = Readonly<Record<string, unknown>>;

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
  return list as PointInput[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
