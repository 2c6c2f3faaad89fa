import type { FailureCode } from '../../shared/failures'

/** Thrown by a step that rejects a record; the record becomes a failed record, the run goes on. */
export class RecordFailure extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
    readonly step: string
  ) {
    super(message)
  }
}
