/**
 * The regular expression a listing filters frame names with (ListFlights `regex`), compiled so
 * that no pattern can make matching run for minutes: `^(a|a)*b$` against a 40-character name
 * backtracks 2^40 times in V8's default engine and would stop the server for every client.
 */
import { setFlagsFromString } from 'node:v8';
import { InvalidArgumentError } from './errors.js';

/**
 * Constructs V8's linear-time engine cannot run, so cannot fall back to: backreferences (`\1`,
 * `\k<name>`) and lookarounds. Name filters do not need them.
 */
const UNSUPPORTED = /\\[1-9]|\\k<|\(\?<?[=!]/;

let fallbackEnabled = false;

/**
 * Turns on V8's fallback to its linear-time regexp engine once a match backtracks too much
 * (`--enable-experimental-regexp-engine-on-excessive-backtracks`). It affects patterns compiled
 * afterwards, so it is set before the first user pattern is compiled, not on import.
 */
function enableLinearFallback(): void {
  if (fallbackEnabled) return;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  fallbackEnabled = true;
}

/**
 * Compiles a client's name filter.
 * @throws InvalidArgumentError for a pattern that does not compile, or uses backreferences or lookarounds
 */
export function compileNamePattern(source: string): RegExp {
  if (UNSUPPORTED.test(source)) {
    throw new InvalidArgumentError(
      `the regex ${JSON.stringify(source)} uses a backreference or a lookaround; name filters may not (they could run for hours): use plain groups, classes and quantifiers`,
    );
  }
  enableLinearFallback();
  try {
    return new RegExp(source);
  } catch (error) {
    throw new InvalidArgumentError(`invalid regex ${JSON.stringify(source)}: ${(error as Error).message}`);
  }
}
