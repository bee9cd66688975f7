/**
 * Wall-clock now in ms, comparable with a job's `date +%s%N`. `performance.timeOrigin +
 * performance.now()` is not: it follows the monotonic clock from the process's start, and while the
 * system slews its wall clock (a VM catching up with its host: 5 ms a second was seen) the two drift
 * apart by more than the latencies measured. Date.now() reads the wall clock each time; its 1 ms
 * resolution is centred by the half millisecond it truncates on average.
 */
export const wallClockMs = (): number => Date.now() + 0.5;

/** Elapsed time: the monotonic clock, which no clock adjustment moves. */
export const monotonicMs = (): number => performance.now();
