import cassandra from 'cassandra-driver';

type OperationInfo = cassandra.policies.retry.OperationInfo;
type DecisionInfo = cassandra.policies.retry.DecisionInfo;

/**
 * The most attempts the driver makes of one statement: the first and one retry,
 * whatever failed (a coordinator's timeout, the client's, a socket error, too few
 * replicas alive). write-holds.ts `landingMarginMs` counts on it: a write's last attempt
 * must end before its hold does.
 */
export const STATEMENT_ATTEMPTS = 2;

/**
 * The driver's retry policy, bounded to STATEMENT_ATTEMPTS, plus one retry on the next host for a statement
 * that timed out at its coordinator.
 *
 * A coordinator answers "timed out" when too few replicas answered in time: a
 * node just lost and not yet known to be down, or one too busy. meetr's writes
 * are upserts whose timestamp the driver fixes once per statement, and its reads
 * change nothing, so sending the statement again, through another coordinator,
 * stores or answers exactly what the first attempt would have. The driver's own
 * policy rethrows these, so one busy replica turned into a 503.
 *
 * Conditional updates (lightweight transactions, write type `CAS`) and any
 * statement marked not idempotent are never retried on a timeout: whether the
 * first attempt applied is unknown, and their answer depends on it.
 */
export class IdempotentRetryPolicy extends cassandra.policies.retry.RetryPolicy {
  /** A client timeout or a socket error: the next host, once, for an idempotent statement (the driver's own tries every host). */
  override onRequestError(info: OperationInfo, consistency: number, _error: Error): DecisionInfo {
    if (info.nbRetry >= STATEMENT_ATTEMPTS - 1 || !info.executionOptions.isIdempotent()) return this.rethrowResult();
    return this.retryResult(consistency, false);
  }

  /** Too few replicas alive at the coordinator: the next host, once (as the driver's own). */
  override onUnavailable(info: OperationInfo, consistency: number, _required: number, _alive: boolean): DecisionInfo {
    if (info.nbRetry >= STATEMENT_ATTEMPTS - 1) return this.rethrowResult();
    return this.retryResult(consistency, false);
  }

  override onWriteTimeout(
    info: OperationInfo,
    consistency: number,
    received: number,
    blockFor: number,
    writeType: string,
  ): DecisionInfo {
    if (info.nbRetry >= STATEMENT_ATTEMPTS - 1 || writeType === 'CAS' || !info.executionOptions.isIdempotent())
      return this.rethrowResult();
    return this.retryResult(consistency, false);
  }

  override onReadTimeout(
    info: OperationInfo,
    consistency: number,
    _received: number,
    _blockFor: number,
    _isDataPresent: boolean,
  ): DecisionInfo {
    if (info.nbRetry >= STATEMENT_ATTEMPTS - 1 || !info.executionOptions.isIdempotent()) return this.rethrowResult();
    return this.retryResult(consistency, false);
  }
}
