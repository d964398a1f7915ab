#!/usr/bin/env node
/** The `hangar` command: serve a store, or talk to a server as a person at a terminal. */
import { dieWithLauncher, relaunchFlags, relaunchWithFlags } from './node-flags.js';

const flags = relaunchFlags(process.argv, process.execArgv, process.env);
if (flags.length > 0) {
  // `hangar serve` without the tuned V8 flags: run it again with them (before loading anything else).
  relaunchWithFlags(flags);
} else {
  dieWithLauncher();
  const [{ buildProgram }, { reportFailure }] = await Promise.all([import('./program.js'), import('./exit-codes.js')]);
  buildProgram()
    .parseAsync(process.argv)
    .catch(reportFailure);
}
