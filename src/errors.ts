/**
 * The one error type meetr throws on purpose. It carries its own HTTP answer;
 * the HTTP layer renders it into the single JSON envelope
 * `{"error": code, "message": ..., "details"?: [...]}`.
 */

export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'request_timeout'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_representable'
  | 'query_too_large'
  | 'query_failed'
  | 'storage_unavailable'
  | 'clock_skew'
  | 'overloaded'
  | 'deadline_exceeded'
  | 'internal_error';

/** Client text as an error message quotes it: at most 64 characters. */
export function clipped(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

/** Where in a request a problem is: the point's index in a batch (if any) and the field. */
export interface ErrorDetail {
  readonly index?: number;
  readonly field: string;
  readonly message: string;
}

export class MeetrError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: readonly ErrorDetail[],
  ) {
    super(message);
    this.name = 'MeetrError';
  }

  get status(): 400 | 401 | 403 | 404 | 405 | 408 | 413 | 415 | 422 | 500 | 503 {
    return statusOf(this.code);
  }
}

/** The HTTP status of each error code; exhaustive, so a new code cannot be forgotten. */
export function statusOf(code: ErrorCode): 400 | 401 | 403 | 404 | 405 | 408 | 413 | 415 | 422 | 500 | 503 {
  switch (code) {
    case 'invalid_request':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'method_not_allowed':
      return 405;
    case 'request_timeout':
      return 408;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'not_representable':
    case 'query_too_large':
    case 'query_failed':
      return 422;
    case 'storage_unavailable':
    case 'clock_skew':
    case 'overloaded':
    case 'deadline_exceeded':
      return 503;
    case 'internal_error':
      return 500;
  }
}

/** Cassandra could not be reached or did not answer in time; safe to retry. */
export class StorageUnavailableError extends MeetrError {
  constructor(
    message: string,
    override readonly cause?: unknown,
    /** Why, on one line, for the log only (it may name hosts). */
    readonly detail?: string,
  ) {
    super('storage_unavailable', message);
    this.name = 'StorageUnavailableError';
  }
}

/** An error as the log tells it: its message, and for a storage failure why, on one line. */
export function forLog(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof StorageUnavailableError && error.detail !== undefined
    ? `${message}; ${error.detail}`
    : message;
}

export function invalidRequest(message: string, details?: readonly ErrorDetail[]): MeetrError {
  return new MeetrError('invalid_request', message, details);
}

/** Why a worker shed a request without doing any of it. */
export type ShedReason =
  | 'write_queue_full'
  | 'write_queue_delay'
  | 'large_write_busy'
  | 'searches_waiting'
  | 'queries_waiting'
  | 'rollups_behind';

/** The worker is too busy to take this request now; nothing of it was done; retry after a moment. */
export class OverloadedError extends MeetrError {
  constructor(
    readonly reason: ShedReason,
    message: string,
  ) {
    super('overloaded', message);
    this.name = 'OverloadedError';
  }
}

/** The request ran out of time (MEETR_REQUEST_TIMEOUT_MS); what was not sent to Cassandra was dropped. */
export function deadlineExceeded(timeoutMs: number): MeetrError {
  return new MeetrError(
    'deadline_exceeded',
    `the request did not finish within ${timeoutMs} ms (MEETR_REQUEST_TIMEOUT_MS); it was not acknowledged, points not yet sent were dropped, and it may be retried`,
  );
}

/** The client closed the connection before the answer; nobody reads this, but work for it stops. */
export function clientGone(): MeetrError {
  return new MeetrError('deadline_exceeded', 'the client went away before the answer');
}
