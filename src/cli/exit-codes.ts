/** The exit codes of the `hangar` command, distinct per kind of failure so scripts can tell them apart. */
import { CommanderError } from 'commander';
import { HangarError } from '../errors.js';

/** What `hangar` exits with. */
export const EXIT_CODES = {
  /** Done. */
  ok: 0,
  /** Any other failure (a server error, a bad file, a refused put). */
  failed: 1,
  /** The command line itself was wrong: an unknown command or option, a missing or bad argument. */
  usage: 2,
  /** The frame, bucket or version does not exist. */
  notFound: 3,
  /** Refused: no valid credentials, a token whose scopes do not allow it, or a SQL statement the sandbox refuses. */
  auth: 4,
} as const;

/** The exit code for an error a command ended with. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  if (error instanceof HangarError) {
    if (error.code === 'NOT_FOUND') return EXIT_CODES.notFound;
    if (error.code === 'UNAUTHENTICATED' || error.code === 'PERMISSION_DENIED') return EXIT_CODES.auth;
  }
  return EXIT_CODES.failed;
}

/** Reports the error a command ended with on stderr (commander has printed its own) and sets the exit code. */
export function reportFailure(error: unknown): void {
  if (!(error instanceof CommanderError)) process.stderr.write(`hangar: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = exitCodeOf(error);
}
