/**
 * A progress bar on stderr for long transfers. Drawn only when stderr is a terminal, and only
 * once a transfer has run for a moment, so quick commands and pipelines stay quiet.
 */

/** Receives progress; every method is cheap to call often. */
export interface Progress {
  /** Sets how many units are done so far. */
  update(done: number): void;
  /** Sets the total, once it is known. */
  setTotal(total: number): void;
  /** Clears the bar. */
  finish(): void;
}

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  /** The total, if known (a bar is drawn only then; otherwise a counter). */
  readonly total?: number;
  /** What is counted (default "rows"). */
  readonly unit?: string;
  /** Where to draw (default process.stderr). */
  readonly stream?: NodeJS.WriteStream;
  /** Milliseconds before the first draw (default 500). */
  readonly delayMs?: number;
}

const REDRAW_MS = 100;
const BAR_WIDTH = 30;

/** Formats a count compactly (12.3k, 4.5M). */
export function compactCount(value: number): string {
  if (value < 1000) return String(value);
  if (value < 1e6) return `${(value / 1e3).toFixed(1)}k`;
  if (value < 1e9) return `${(value / 1e6).toFixed(1)}M`;
  return `${(value / 1e9).toFixed(1)}G`;
}

/** Starts a progress display labelled `label` (a no-op off a terminal). */
export function startProgress(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return { update: () => undefined, setTotal: () => undefined, finish: () => undefined };
  const unit = options.unit ?? 'rows';
  const startedAt = Date.now();
  const delay = options.delayMs ?? 500;
  let total = options.total;
  let done = 0;
  let lastDraw = 0;
  let drawn = false;

  const draw = (): void => {
    const now = Date.now();
    if (now - startedAt < delay || now - lastDraw < REDRAW_MS) return;
    lastDraw = now;
    drawn = true;
    let text = `${label} ${compactCount(done)}`;
    if (total !== undefined && total > 0) {
      const ratio = Math.min(1, done / total);
      const filled = Math.round(ratio * BAR_WIDTH);
      text = `${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${compactCount(done)}/${compactCount(total)}`;
    }
    stream.write(`\r\x1b[K${text} ${unit}`);
  };

  return {
    update(value) {
      done = value;
      draw();
    },
    setTotal(value) {
      total = value;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
      lastDraw = Number.POSITIVE_INFINITY; // nothing more is drawn after finishing
    },
  };
}
