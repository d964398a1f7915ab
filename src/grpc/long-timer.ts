/**
 * A one-shot timer for any delay. Node's setTimeout stores delays as signed 32-bit milliseconds
 * and fires anything longer than about 24.8 days after 1 ms instead; gRPC deadlines may be years
 * away (grpc-go sends 30 days, `2592000S`), so a long delay is waited out in capped steps.
 */

/** The longest delay setTimeout honours, in milliseconds (2^31 − 1). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A running {@link LongTimer}: cancel it with `clear()`. */
export interface LongTimer {
  /** Stops the timer; the callback will not run. Idempotent. */
  clear(): void;
}

/**
 * Runs `callback` once, `delayMs` milliseconds from now (however long that is). A delay that is
 * not a finite number never fires. The timer does not keep the process alive (it is unref'd),
 * as a deadline must not.
 */
export function setLongTimeout(callback: () => void, delayMs: number): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  // The due time is fixed once on the monotonic clock, so chained steps neither drift by the time
  // each took to fire nor move when the wall clock is set.
  const due = performance.now() + Math.max(0, delayMs);
  const arm = (remaining: number): void => {
    timer = setTimeout(() => {
      if (cleared) return;
      const left = due - performance.now();
      if (left > 0 && remaining > MAX_TIMER_DELAY_MS) arm(left);
      else callback();
    }, Math.min(Math.max(0, remaining), MAX_TIMER_DELAY_MS));
    timer.unref();
  };
  if (Number.isFinite(delayMs)) arm(Math.max(0, delayMs));
  return {
    clear(): void {
      cleared = true;
      clearTimeout(timer);
    },
  };
}
