/** The V8 flags `hangar serve` runs with, and re-executing Node with them when it was started without. */
import { spawn } from 'node:child_process';

/**
 * The V8 flags the server is tuned for (docs/performance.md#v8-flags): one GC thread, and an
 * old-generation limit that does not start a full collection every few megabytes of buffers.
 * V8 reads both only when it starts (set later with `v8.setFlagsFromString`, `--single-threaded-gc`
 * crashes V8 in its next GC: bench/v8_flags_late.mjs), and Node 20 refuses both in NODE_OPTIONS, so
 * the only way to apply them is Node's command line.
 */
export const TUNED_V8_FLAGS: readonly string[] = ['--single-threaded-gc', '--initial-old-space-size=256'];

/** Set in the re-executed server's environment; also stops a second re-execution. */
export const RELAUNCHED_ENV = 'HANGAR_RELAUNCHED';

/** `HANGAR_NODE_RELAUNCH=0` starts the server in the current process as it is, flags or not. */
export const RELAUNCH_SWITCH_ENV = 'HANGAR_NODE_RELAUNCH';

/** A Node/V8 flag's name without dashes, `no-` prefix or value, `_` read as `-`: `--no-foo_bar=1` → `foo-bar`. */
function flagName(arg: string): string | undefined {
  if (!arg.startsWith('--')) return undefined;
  const name = arg.slice(2).split('=', 1)[0]!.replaceAll('_', '-');
  return name.startsWith('no-') ? name.slice(3) : name;
}

/**
 * The tuned flags the user did not set either way. A flag counts as set when Node's own arguments
 * (`process.execArgv`) or NODE_OPTIONS name it with any value or negated (`--no-single-threaded-gc`,
 * `--initial-old-space-size=1024`): what the user chose is kept.
 * @param execArgv Node's arguments before the script
 * @param nodeOptions the NODE_OPTIONS environment variable
 */
export function missingTunedFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map(flagName).filter((name) => name !== undefined));
  return TUNED_V8_FLAGS.filter((flag) => !given.has(flagName(flag)!));
}

/**
 * The flags to re-execute Node with, or an empty list to go on in this process: only for
 * `hangar serve` (client commands are short-lived and gain nothing), not when this process is
 * already the re-executed one, and not when `HANGAR_NODE_RELAUNCH=0`.
 * @param argv `process.argv`
 * @param execArgv `process.execArgv`
 * @param env `process.env`
 */
export function relaunchFlags(argv: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  if (argv[2] !== 'serve' || env[RELAUNCHED_ENV] !== undefined || env[RELAUNCH_SWITCH_ENV] === '0') return [];
  return missingTunedFlags(execArgv, env.NODE_OPTIONS);
}

/** Signals a supervisor sends to stop or reload the server; passed on to the re-executed one. */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Runs this same command again in a child Node with `flags` added to Node's own arguments, on the
 * same stdin/stdout/stderr, and ends this process the way the child ends (its exit code, or the
 * signal that ended it). Signals sent to this process are passed on, except SIGINT while a terminal
 * is attached: Ctrl-C reaches the child directly (same process group), and a second SIGINT would
 * stop the server without its graceful shutdown.
 * @param flags the V8 flags to add
 */
export function relaunchWithFlags(flags: readonly string[]): void {
  // The IPC channel is the child's lifeline: it closes when this process dies, even by SIGKILL
  // (see dieWithLauncher), so `kill -9` of the pid a supervisor started still stops the server.
  const child = spawn(process.execPath, [...process.execArgv, ...flags, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [RELAUNCHED_ENV]: flags.join(' ') },
  });
  child.channel?.unref();
  const fromTerminal = process.stdin.isTTY === true || process.stdout.isTTY === true;
  const forward = (signal: NodeJS.Signals) => {
    if (signal === 'SIGINT' && fromTerminal) return;
    child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  child.once('error', (error) => {
    process.stderr.write(`hangar: could not start ${process.execPath} with ${flags.join(' ')} (${error.message}); ` +
      `set ${RELAUNCH_SWITCH_ENV}=0 to run without them\n`);
    process.exitCode = 1;
  });
  child.once('exit', (code, signal) => {
    for (const name of FORWARDED_SIGNALS) process.off(name, forward);
    if (signal !== null) process.kill(process.pid, signal);
    else process.exitCode = code ?? 1;
  });
}

/**
 * In the re-executed server: SIGKILL this process as soon as the launcher's IPC channel closes,
 * i.e. when the launcher died without waiting for it (a `kill -9` of the pid that was started, which
 * the launcher cannot pass on). A no-op in a process that was not re-executed.
 */
export function dieWithLauncher(): void {
  if (process.env[RELAUNCHED_ENV] === undefined || process.channel === undefined) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel.unref(); // the channel alone must not keep the server running
}
