import { ANY_TIME, metricIdProblem, type Point, type TsWindow } from '../domain/point.js';
import { invalidRequest, type ErrorDetail } from '../errors.js';
import { formatEpochMs, parseTimestamp } from '../time/time-text.js';
import type { PointInput } from './point-input.js';
import { fieldOf, missing, POINT_METRIC, POINT_TS } from './field-aliases.js';

const MAX_DETAILS = 100;
/** Longest text taken for a timestamp or a number; anything longer is refused unread. */
const MAX_SCALAR_TEXT = 100;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Checks every point; all-or-nothing. Throws invalid_request naming each bad
 * point's index and field (the first 100 of them) when any is invalid. Points
 * outside `window` (epoch ms, inclusive bounds) are refused: too far in the future,
 * or older than the raw points are kept.
 */
export function validatePoints(
  inputs: readonly PointInput[],
  defaultTimeZone: string,
  window: TsWindow = ANY_TIME,
): Point[] {
  const run = new Validation(inputs, defaultTimeZone, window);
  run.check(0, inputs.length);
  return run.result();
}

/** Points validated per turn of the event loop by validatePointsInTurns. */
const POINTS_PER_TURN = 10_000;

/** validatePoints, letting the event loop run other work between slices of a large batch. */
export async function validatePointsInTurns(
  inputs: readonly PointInput[],
  defaultTimeZone: string,
  window: TsWindow,
  yieldTurn: () => Promise<void>,
): Promise<Point[]> {
  const run = new Validation(inputs, defaultTimeZone, window);
  for (let start = 0; start < inputs.length; start += POINTS_PER_TURN) {
    if (start > 0) await yieldTurn();
    run.check(start, Math.min(inputs.length, start + POINTS_PER_TURN));
  }
  return run.result();
}

class Validation {
  private readonly points: Point[];
  private readonly details: ErrorDetail[] = [];
  private invalid = 0;

  constructor(
    private readonly inputs: readonly PointInput[],
    private readonly defaultTimeZone: string,
    private readonly window: TsWindow,
  ) {
    this.points = new Array<Point>(inputs.length);
  }

  check(from: number, to: number): void {
    for (let index = from; index < to; index++) {
      const problems = validateOne(this.inputs[index], index, this.defaultTimeZone, this.window, this.points);
      if (problems.length > 0) {
        this.invalid++;
        for (const problem of problems) if (this.details.length < MAX_DETAILS) this.details.push(problem);
      }
    }
  }

  result(): Point[] {
    const { inputs, invalid, details } = this;
    if (invalid === 0) return this.points;
    const where = inputs.length === 1 ? 'the point is invalid' : `${invalid} of ${inputs.length} points are invalid`;
    const fields = [...new Set(details.map((d) => d.field))].join(', ');
    throw invalidRequest(`${where} (${fields}); nothing was written`, details);
  }
}

function validateOne(
  input: unknown,
  index: number,
  defaultTimeZone: string,
  window: TsWindow,
  out: Point[],
): ErrorDetail[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ index, field: 'point', message: 'must be an object {metric_id, ts, value}' }];
  }
  const record = input as Readonly<Record<string, unknown>>;
  const problems: ErrorDetail[] = [];

  const metricField = fieldOf(POINT_METRIC, (name) => name in record);
  const metricId = record[metricField];
  if (metricId === undefined || metricId === null)
    problems.push({ index, field: POINT_METRIC[0], message: missing(POINT_METRIC) });
  else if (typeof metricId !== 'string') problems.push({ index, field: metricField, message: 'must be a string' });
  else {
    const problem = metricIdProblem(metricId);
    if (problem !== undefined) problems.push({ index, field: metricField, message: problem });
  }

  const tsField = fieldOf(POINT_TS, (name) => name in record);
  const rawTs = record[tsField];
  let ts = 0;
  if (rawTs === undefined || rawTs === null || rawTs === '')
    problems.push({ index, field: POINT_TS[0], message: missing(POINT_TS) });
  else if (typeof rawTs === 'string' && rawTs.length > MAX_SCALAR_TEXT)
    problems.push({ index, field: tsField, message: `is longer than any timestamp (${rawTs.length} characters)` });
  else {
    const parsed = parseTimestamp(rawTs, defaultTimeZone);
    if (!parsed.ok) problems.push({ index, field: tsField, message: parsed.message });
    else if (parsed.ms > window.latestMs)
      problems.push({
        index,
        field: tsField,
        message: `is ${formatEpochMs(parsed.ms)}, too far in the future (MEETR_MAX_FUTURE_MS)`,
      });
    else if (parsed.ms < window.earliestMs)
      problems.push({
        index,
        field: tsField,
        message: `is ${formatEpochMs(parsed.ms)}, ${window.earliestReason ?? 'older than raw points are kept (MEETR_RETENTION_RAW)'}`,
      });
    else ts = parsed.ms;
  }

  const rawValue = record.value;
  let value = 0;
  if (rawValue === undefined || rawValue === null || rawValue === '')
    problems.push({ index, field: 'value', message: 'is missing' });
  else if (typeof rawValue === 'string' && rawValue.length > MAX_SCALAR_TEXT)
    problems.push({ index, field: 'value', message: `is longer than any number (${rawValue.length} characters)` });
  else if (typeof rawValue === 'number' && Number.isFinite(rawValue)) value = rawValue;
  else if (typeof rawValue === 'string' && NUMBER.test(rawValue.trim()) && Number.isFinite(Number(rawValue)))
    value = Number(rawValue);
  else problems.push({ index, field: 'value', message: `must be a finite number, got ${describe(rawValue)}` });

  if (problems.length === 0) out[index] = { metricId: metricId as string, ts, value };
  return problems;
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? typeof value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
