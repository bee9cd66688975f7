/**
 * Job-execution statuses, exactly Sahara's literal strings (docs/compatibility.md#execution-statuses).
 * They sit in store/ because every layer speaks them: the store filters on them, engines report
 * them, the lifecycle moves between them.
 * This module is the only place that knows which statuses are terminal.
 */
export const EXECUTION_STATUSES = [
  'PENDING',
  'READYTORUN',
  'PREP',
  'RUNNING',
  'TOBEKILLED',
  'TOBESUSPENDED',
  'PREPSUSPENDED',
  'SUSPENDED',
  'SUCCEEDED',
  'FAILED',
  'KILLED',
  'DONEWITHERROR',
  'SUSPENDFAILED',
] as const;

export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const TERMINAL_STATUSES: readonly ExecutionStatus[] = [
  'SUCCEEDED',
  'FAILED',
  'KILLED',
  'DONEWITHERROR',
  'SUSPENDFAILED',
];

const terminal: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

/** Any status outside the terminal set is non-terminal, as in Sahara (engines may report others). */
export function isTerminal(status: string): boolean {
  return terminal.has(status);
}
