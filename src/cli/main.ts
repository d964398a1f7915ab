#!/usr/bin/env node
/** The `hangar` command: serve a store, or talk to a server as a person at a terminal. */
import { buildProgram } from './program.js';

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`hangar: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
