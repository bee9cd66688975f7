import type { ExecutionStatus } from '../../store/statuses.js';

/**
 * Spark driver states (org.apache.spark.deploy.master.DriverState) → Sahara statuses. The one
 * place that decides it:
 *
 * | driver state | status        | why                                                            |
 * |--------------|---------------|----------------------------------------------------------------|
 * | SUBMITTED    | RUNNING       | accepted by the master, waiting for a worker with room         |
 * | RUNNING      | RUNNING       |                                                                |
 * | RELAUNCHING  | RUNNING       | a supervised driver restarting after its worker was lost       |
 * | UNKNOWN      | RUNNING       | a master recovering its state: not an end, keep polling        |
 * | FINISHED     | SUCCEEDED     | the driver's main returned                                     |
 * | FAILED       | DONEWITHERROR | the driver ran and exited non-zero (the application threw), as  |
 * |              |               | Sahara's Spark engine reported a non-zero exit                 |
 * | ERROR        | FAILED        | the driver could not run to its end for reasons outside the    |
 * |              |               | job: its worker was lost, or it could not be launched          |
 * | KILLED       | KILLED        |                                                                |
 * | (not found)  | FAILED        | the master no longer knows the driver (restarted without       |
 * |              |               | recovery): its fate cannot be learnt                           |
 *
 * Client-mode drivers (Python applications, Shell jobs) are processes on the Oasis host: exit
 * code 0 → SUCCEEDED, any other → DONEWITHERROR, cancelled by Oasis → KILLED, vanished without
 * an exit code (host restart) → FAILED. A master that does not answer is never a status: the
 * engine throws TransientEngineError and the execution keeps its status.
 */
export function statusOfDriverState(state: string | undefined): ExecutionStatus {
  switch (state) {
    case 'SUBMITTED':
    case 'RUNNING':
    case 'RELAUNCHING':
    case 'UNKNOWN':
      return 'RUNNING';
    case 'FINISHED':
      return 'SUCCEEDED';
    case 'FAILED':
      return 'DONEWITHERROR';
    case 'KILLED':
      return 'KILLED';
    case 'ERROR':
    case undefined:
      return 'FAILED';
    default:
      // A state added by a later Spark: not known to be an end, so keep polling.
      return 'RUNNING';
  }
}

/** The application id a driver's log announces once its SparkContext has registered. */
export function applicationIdIn(log: string): string | undefined {
  return /Connected to Spark cluster with app ID (\S+)/.exec(log)?.[1];
}

const EXCEPTION_LINE = /^(?:Caused by: )?[\w$.]+(?:Exception|Error)\b.*$/;

/**
 * Why a driver failed, from the end of its stderr: the innermost `Caused by:` of the last Java
 * stack trace, or the last line of a Python traceback. Reflection wrappers
 * (InvocationTargetException) are skipped for the cause they carry.
 */
export function failureReasonIn(log: string): string | undefined {
  const lines = log.split('\n').map((line) => line.trimEnd());
  let reason: string | undefined;
  for (const line of lines) {
    const thread = /^Exception in thread "[^"]*" (.*)$/.exec(line);
    if (thread?.[1]) reason = thread[1];
    else if (line.startsWith('Caused by: ')) reason = line.slice('Caused by: '.length);
    else if (EXCEPTION_LINE.test(line) && !line.includes(' INFO ') && !line.includes(' WARN ')) {
      reason = line;
    }
  }
  if (reason && !/InvocationTargetException/.test(reason)) return reason;
  const traceback = lines.lastIndexOf('Traceback (most recent call last):');
  if (traceback >= 0) {
    const last = lines.slice(traceback + 1).find((line) => /^\w[\w.]*(Error|Exception)\b/.test(line));
    if (last) return last;
  }
  return reason;
}
