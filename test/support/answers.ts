/** A JSON answer of meetr's as the tests read it: every field that some answer carries, none promised. */
export interface ApiAnswer {
  readonly error?: string;
  readonly message?: string;
  readonly details?: ReadonlyArray<{ readonly index?: number; readonly field: string; readonly message: string }>;
  readonly inserted?: number;
  readonly metric_id?: string;
  readonly from?: string;
  readonly to?: string;
  readonly aggregation?: string;
  readonly value?: number | null;
  readonly count?: number;
  readonly interval?: string;
  readonly tz?: string;
  readonly series?: ReadonlyArray<{
    readonly start: string;
    readonly ts: number;
    readonly value: number | null;
    readonly count: number;
  }>;
  readonly status?: string;
  readonly worker?: string;
}
