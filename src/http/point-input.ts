/**
 * From what a client sent to a list of unvalidated point records. Three shapes
 * arrive: Meetr's form fields (single point, or `batch` + a JSON `metrics` array,
 * in a urlencoded or multipart body), and JSON bodies (one point, an array, or
 * `{"metrics": [...]}`). Meetr's field aliases are in field-aliases.ts.
 */
import { invalidRequest, MeetrError } from '../errors.js';
import { parseContentType } from '../media-type.js';
import { fieldOf, POINT_FIELDS, POINT_METRIC } from './field-aliases.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Deepest nesting a point body needs: `{"metrics": [{...}]}` is 3; one spare level for a value that is an object (then refused per point). */
const MAX_JSON_DEPTH = 4;
/** Values a point may hold (metric_id, ts, value and their aliases, with room to spare): bounds the values of a batch. */
const MAX_VALUES_PER_POINT = 8;
/** Fields a form body may have: a point has at most five (metric_id or metric, ts or timestamp, value), a batch two. */
const MAX_FORM_FIELDS = 64;

/**
 * The unvalidated points of a POST body sent with the Content-Type header
 * `contentType` ('' when none). As in the original Meetr, form fields may also come
 * in the query string. Throws invalid_request, payload_too_large (over `maxBatch`
 * points) or unsupported_media_type.
 */
export async function decodePointInputs(
  body: Buffer,
  contentType: string,
  fromQuery: FormField,
  maxBatch: number,
): Promise<PointInput[]> {
  const { mediaType } = parseContentType(contentType);
  if (mediaType === 'multipart/form-data') {
    checkMultipartParts(body, contentType);
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
    } catch {
      throw invalidRequest('the multipart/form-data body could not be read', [
        { field: 'body', message: 'is not valid multipart' },
      ]);
    }
    return pointInputsFromForm((name) => {
      const value = form.get(name);
      return typeof value === 'string' ? value : fromQuery(name);
    }, maxBatch);
  }
  // JSON only when the client says so, or says nothing about the type: no Content-Type, or the text/plain
  // that HTTP libraries put on a bare string body (as Meetr's clients send). Never for other types.
  const untyped = mediaType === '' || mediaType === 'text/plain';
  const isJson = mediaType === 'application/json' || mediaType.endsWith('+json') || (untyped && startsLikeJson(body));
  const isForm = !isJson && (mediaType === 'application/x-www-form-urlencoded' || untyped);
  if (!isJson && !isForm) {
    throw new MeetrError(
      'unsupported_media_type',
      `Content-Type ${mediaType} is not accepted; send application/x-www-form-urlencoded, multipart/form-data or application/json`,
    );
  }
  // The limits are checked on the bytes (JSON's and the form's structure is ASCII), so a hostile body
  // is refused before it is decoded; large bodies give other requests a turn between the steps.
  if (isJson) checkJsonShape(body, maxBatch, 'body');
  else checkFormFields(body);
  if (body.length > YIELD_ABOVE_BYTES) await yieldToEventLoop();
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw invalidRequest('the body is not valid UTF-8', [{ field: 'body', message: 'is not valid UTF-8' }]);
  }
  if (body.length > YIELD_ABOVE_BYTES) await yieldToEventLoop();
  if (isJson) return pointInputsFromJson(parseJson(text, 'body'), maxBatch);
  const params = new URLSearchParams(text);
  return pointInputsFromForm((name) => params.get(name) ?? fromQuery(name), maxBatch);
}

/** Bodies larger than this give the event loop a turn between decoding steps. */
const YIELD_ABOVE_BYTES = 256 * 1024;

/** Lets whatever else waits on the event loop (other requests, /health) run before going on. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether the body's first non-blank byte opens a JSON object or array. */
function startsLikeJson(body: Uint8Array): boolean {
  const bom = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  for (const byte of bom ? body.subarray(3) : body) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x5b || byte === 0x7b;
  }
  return false;
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'syntax error';
    throw invalidRequest(`${field} is not valid JSON: ${reason}`, [{ field, message: 'is not valid JSON' }]);
  }
}

/** One point as the client wrote it: not yet checked, and from JSON possibly not even an object. */
export type PointInput = unknown;

/** Looks up a form field; undefined when absent. */
export type FormField = (name: string) => string | undefined;

/** The points of a form body. Batch mode: `batch` present with any value, or `metrics` without `metric_id`. */
export function pointInputsFromForm(field: FormField, maxBatch: number): PointInput[] {
  const metrics = field('metrics');
  const single = field(fieldOf(POINT_METRIC, (name) => field(name) !== undefined));
  if (field('batch') !== undefined || (metrics !== undefined && single === undefined)) {
    if (metrics === undefined) {
      throw invalidRequest('a batch needs a "metrics" field: a JSON array of {metric_id, ts, value}', [
        { field: 'metrics', message: 'is missing' },
      ]);
    }
    return pointInputsFromJsonText(metrics, maxBatch, 'metrics');
  }
  const point: Record<string, unknown> = {};
  for (const name of POINT_FIELDS) {
    const value = field(name);
    if (value !== undefined) point[name] = value;
  }
  return [point];
}

/**
 * The points of a JSON text: one object, an array of them, or `{"metrics": [...]}`.
 * A cheap scan runs first, so a text with more objects than `maxBatch` points could
 * hold, or nested deeper than any point shape, is refused before it is parsed.
 */
export function pointInputsFromJsonText(text: string, maxBatch: number, field = 'body'): PointInput[] {
  checkJsonShape(text, maxBatch, field);
  return pointInputsFromJson(parseJson(text, field), maxBatch, field);
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
  else
    throw invalidRequest(`${field} must be a point object, an array of them, or {"metrics": [...]}`, [
      { field, message: 'has the wrong shape' },
    ]);

  if (!Array.isArray(list)) {
    throw invalidRequest(`${field} must be an array of points`, [{ field, message: 'is not an array' }]);
  }
  if (list.length === 0) throw invalidRequest('the request has no points', [{ field, message: 'is an empty array' }]);
  if (list.length > maxBatch) {
    throw new MeetrError(
      'payload_too_large',
      `the batch has ${list.length} points; at most ${maxBatch} are accepted per request`,
      [{ field, message: `has more than ${maxBatch} points` }],
    );
  }
  return list as PointInput[]; // an array of anything: validation looks at each
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Counts objects, values and nesting outside strings, stopping as soon as a limit is
 * passed: every point is one object of a few values, so more than `maxBatch + 1`
 * objects, or more values than that many points hold, cannot be an acceptable batch.
 * Throws payload_too_large or invalid_request; never parses.
 */
export function checkJsonShape(source: string | Uint8Array, maxBatch: number, field: string): void {
  const codeAt =
    typeof source === 'string' ? (i: number): number => source.charCodeAt(i) : (i: number): number => source[i]!;
  let depth = 0;
  let objects = 0;
  let separators = 0;
  const maxSeparators = (maxBatch + 1) * MAX_VALUES_PER_POINT;
  let inString = false;
  for (let i = 0; i < source.length; i++) {
    const code = codeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
      continue;
    }
    if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) {
        throw invalidRequest(`${field} is nested more than ${MAX_JSON_DEPTH} levels deep; points are flat objects`, [
          { field, message: 'is nested too deeply' },
        ]);
      }
      if (code === 0x7b && ++objects > maxBatch + 1) {
        throw new MeetrError(
          'payload_too_large',
          `${field} holds more than ${maxBatch} points; at most ${maxBatch} are accepted per request`,
          [{ field, message: `has more than ${maxBatch} points` }],
        );
      }
    } else if (code === 0x7d || code === 0x5d) depth--;
    else if (code === 0x2c && ++separators > maxSeparators) {
      throw new MeetrError(
        'payload_too_large',
        `${field} holds more values than ${maxBatch} points could; at most ${maxBatch} points are accepted per request`,
        [{ field, message: `has more than ${maxSeparators} values` }],
      );
    }
  }
}

/** Refuses a form body of more fields than any point or batch has, before it is decoded: fields are one more than the `&`s. */
function checkFormFields(body: Buffer): void {
  if (occurrencesPass(body, '&', MAX_FORM_FIELDS - 1)) throw tooManyFields('fields');
}

/** Refuses a multipart body of more parts than any point or batch has, before it is parsed: parts are one fewer than the delimiters. */
function checkMultipartParts(body: Buffer, contentType: string): void {
  const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  if (boundary === null) return; // the parser refuses it
  if (occurrencesPass(body, `--${boundary[1] ?? boundary[2]}`, MAX_FORM_FIELDS + 1)) throw tooManyFields('parts');
}

/** Whether `needle` occurs in `body` more than `limit` times; stops counting once it does. */
function occurrencesPass(body: Buffer, needle: string, limit: number): boolean {
  let count = 0;
  for (let at = body.indexOf(needle); at !== -1; at = body.indexOf(needle, at + needle.length)) {
    if (++count > limit) return true;
  }
  return false;
}

function tooManyFields(what: 'fields' | 'parts'): MeetrError {
  return invalidRequest(
    `the form has more than ${MAX_FORM_FIELDS} fields; a point has at most five, a batch sends its points in "metrics"`,
    [{ field: 'body', message: `has more than ${MAX_FORM_FIELDS} ${what}` }],
  );
}
