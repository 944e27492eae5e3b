import cassandra from 'cassandra-driver';

type OperationInfo = cassandra.policies.retry.OperationInfo;
type DecisionInfo = cassandra.policies.retry.DecisionInfo;

/**
 * The driver's retry policy, plus one retry on the next host for a statement
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
  override onWriteTimeout(info: OperationInfo, consistency: number, received: number, blockFor: number, writeType: string): DecisionInfo {
    if (info.nbRetry > 0 || writeType === 'CAS' || !info.executionOptions.isIdempotent()) return this.rethrowResult();
    return this.retryResult(consistency, false);
  }

  override onReadTimeout(info: OperationInfo, consistency: number, _received: number, _blockFor: number, _isDataPresent: boolean): DecisionInfo {
    if (info.nbRetry > 0 || !info.executionOptions.isIdempotent()) return this.rethrowResult();
    return this.retryResult(consistency, false);
  }
}
