// `hangar serve` as a child process (from dist/, which `npm test` builds), for tests that signal or
// SIGKILL a real server: start it, read its location from the listening line, kill it and wait.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The built command line entry point. */
export const HANGAR_CLI = join(import.meta.dirname, '../../dist/cli/main.js');

/** A running `hangar serve`. */
export interface HangarProcess {
  readonly child: ChildProcess;
  /** Where it listens, e.g. `grpc://127.0.0.1:40123`. */
  readonly location: string;
  /** Settles when the process has exited. */
  readonly exited: Promise<void>;
  /** Sends SIGKILL (if still running) and waits for the exit. */
  kill(): Promise<void>;
}

/** Stderr kept to explain a server that exits before listening. */
const STDERR_TAIL_CHARS = 4000;

/**
 * Starts `hangar serve --port 0 ARGS…` and resolves once it prints its listening line.
 * @param env - added to this process's environment
 * @throws if the process exits first (its stderr tail in the message)
 */
export async function startHangarProcess(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<HangarProcess> {
  const child = spawn(process.execPath, [HANGAR_CLI, 'serve', '--port', '0', ...args], {
    // No re-execution with the tuned V8 flags (src/cli/node-flags.ts): SIGKILL must hit the server
    // itself at the chosen moment, not a launcher whose server would notice only a moment later.
    env: { ...process.env, HANGAR_NODE_RELAUNCH: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code, signal) => reject(new Error(`hangar serve exited (${signal ?? code}) before listening: ${stderr}`)));
  });
  return {
    child,
    location: line.replace(/^hangar listening on /, ''),
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
