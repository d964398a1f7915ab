// The one way the tests start a real server in a child process (moto, Azurite, redis-server):
// spawn it, wait for the line that says it is ready, and stop it (TERM, then KILL) when done.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A child server that printed its ready line. */
export interface ChildServer {
  /** The process. */
  readonly child: ChildProcess;
  /** The match of the ready pattern in the line that said the server is ready. */
  readonly ready: RegExpExecArray;
  /** Stops the server: SIGTERM, then SIGKILL after five seconds if it has not exited. */
  stop(): Promise<void>;
}

/**
 * Spawns `command` and resolves once a line of its output (stdout or stderr) matches `readyLine`.
 * Rejects, with what it printed, if it exits first, cannot be spawned, or is not ready within
 * `timeoutMs`. `what` names the server in those messages.
 */
export async function startChildServer(
  what: string,
  command: string,
  args: string[],
  readyLine: RegExp,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; hint?: string } = {},
): Promise<ChildServer> {
  const spawnOptions: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) };
  const child = spawn(command, args, spawnOptions);
  const output: string[] = [];
  const timeoutMs = options.timeoutMs ?? 30_000;
  let started = false;
  try {
    const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs / 1000} s:\n${output.join('\n')}`)), timeoutMs);
      for (const stream of [child.stdout!, child.stderr!]) {
        // After the ready line, output is read (so the child never blocks on a full pipe) but not kept.
        createInterface({ input: stream }).on('line', (line) => {
          if (started) return;
          output.push(line);
          const match = readyLine.exec(line);
          if (match) {
            started = true;
            clearTimeout(timer);
            resolve(match);
          }
        });
      }
      child.once('error', (error) => reject(new Error(`cannot start ${what}${options.hint ? ` (${options.hint})` : ''}: ${error.message}`)));
      child.once('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${output.join('\n')}`)));
    });
    return { child, ready, stop: () => stopChild(child) };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
