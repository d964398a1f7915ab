/**
 * `hangar serve` in a child process, for fuzz and soak runs: a server that hangs or leaks must not
 * take the harness with it, and its memory and open handles are read from /proc by its pid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A running server process. */
export interface ServerProcess {
  /** The child process. */
  readonly child: ChildProcess;
  /** Its pid. */
  readonly pid: number;
  /** `grpc://host:port`. */
  readonly location: string;
  /** `http://host:port`, for raw HTTP/2 clients. */
  readonly url: string;
  /** The admin token it printed (with `--secret`). */
  readonly adminToken: string | undefined;
  /** `http://host:port` of its HTTP API (with `--http-port`). */
  readonly httpUrl: string | undefined;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /**
   * Sends SIGTERM and waits up to `graceMs` for the exit; past that, SIGKILL.
   * @returns the exit code, or null if it had to be killed
   */
  stop(graceMs?: number): Promise<number | null>;
}

/** How to start it. */
export interface ServerProcessOptions {
  /** Arguments after `hangar serve` (`--port 0` and `--data` are up to the caller). */
  readonly args: readonly string[];
  /** Node flags (default: the V8 flags `npm start` uses). */
  readonly nodeFlags?: readonly string[];
  /** How long to wait for "hangar listening on" (default 30 s). */
  readonly startTimeoutMs?: number;
}

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Starts `node dist/cli/main.js serve ARGS` and resolves once it listens. */
export function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const flags = options.nodeFlags ?? ['--single-threaded-gc', '--initial-old-space-size=256'];
  const child = spawn(process.execPath, [...flags, MAIN, 'serve', ...options.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hangar serve did not start within ${options.startTimeoutMs ?? 30_000} ms: ${stderr}`));
    }, options.startTimeoutMs ?? 30_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hangar serve exited with ${code} before listening: ${stderr}`));
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const listening = /hangar listening on (grpc(?:\+tls)?:\/\/(\S+))/.exec(stdout);
      const wantsToken = options.args.includes('--secret');
      const token = /hangar admin token[^:]*: (\S+)/.exec(stdout)?.[1];
      const httpUrl = /http listening on (http:\/\/\S+)/.exec(stdout)?.[1];
      if (!listening || (wantsToken && token === undefined) || (options.args.includes('--http-port') && httpUrl === undefined)) return;
      clearTimeout(timer);
      resolve({
        child,
        pid: child.pid!,
        location: listening[1]!,
        url: `http://${listening[2]!}`,
        adminToken: token,
        httpUrl,
        stderr: () => stderr,
        async stop(graceMs = 10_000) {
          if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
          child.kill('SIGTERM');
          let timer: NodeJS.Timeout | undefined;
          const killed = new Promise<null>((resolveKill) => {
            timer = setTimeout(() => {
              child.kill('SIGKILL');
              resolveKill(null);
            }, graceMs);
          });
          const code = await Promise.race([exited, killed]);
          clearTimeout(timer);
          return code;
        },
      });
    });
  });
}
