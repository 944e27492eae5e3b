/**
 * The one error type meetr throws on purpose. It carries its own HTTP answer;
 * the HTTP layer renders it into the single JSON envelope
 * `{"error": code, "message": ..., "details"?: [...]}`.
 */

export type ErrorCode =
  | 'invalid_request'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_representable'
  | 'storage_unavailable'
  | 'internal_error';

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

  get status(): 400 | 404 | 405 | 413 | 415 | 422 | 500 | 503 {
    return statusOf(this.code);
  }
}

/** The HTTP status of each error code; exhaustive, so a new code cannot be forgotten. */
export function statusOf(code: ErrorCode): 400 | 404 | 405 | 413 | 415 | 422 | 500 | 503 {
  switch (code) {
    case 'invalid_request':
      return 400;
    case 'not_found':
      return 404;
    case 'method_not_allowed':
      return 405;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'not_representable':
      return 422;
    case 'storage_unavailable':
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
  ) {
    super('storage_unavailable', message);
    this.name = 'StorageUnavailableError';
  }
}

export function invalidRequest(message: string, details?: readonly ErrorDetail[]): MeetrError {
  return new MeetrError('invalid_request', message, details);
}
