// Which tuned V8 flags `hangar serve` re-executes Node with: the user's own choices are kept.
import { describe, expect, it } from 'vitest';
import { RELAUNCHED_ENV, missingTunedFlags, relaunchFlags, TUNED_V8_FLAGS } from '../../src/cli/node-flags.js';

const SERVE = ['/usr/bin/node', '/app/dist/cli/main.js', 'serve', '--port', '0'];

describe('missingTunedFlags', () => {
  it('asks for both flags when Node was started without any', () => {
    expect(missingTunedFlags([], undefined)).toEqual([...TUNED_V8_FLAGS]);
  });

  it('keeps what the user set, with any value, negated, or spelled with underscores', () => {
    expect(missingTunedFlags(['--initial-old-space-size=1024'], undefined)).toEqual(['--single-threaded-gc']);
    expect(missingTunedFlags(['--no-single-threaded-gc'], undefined)).toEqual(['--initial-old-space-size=256']);
    expect(missingTunedFlags(['--initial_old_space_size=64', '--single_threaded_gc'], undefined)).toEqual([]);
  });

  it('counts flags given in NODE_OPTIONS', () => {
    expect(missingTunedFlags([], '--max-old-space-size=4096  --single-threaded-gc')).toEqual(['--initial-old-space-size=256']);
  });

  it('is not fooled by other flags that share a prefix', () => {
    expect(missingTunedFlags(['--initial-old-space-size-x=1', '--single-threaded'], '')).toEqual([...TUNED_V8_FLAGS]);
  });
});

describe('relaunchFlags', () => {
  it('re-executes only `hangar serve`', () => {
    expect(relaunchFlags(SERVE, [], {})).toEqual([...TUNED_V8_FLAGS]);
    expect(relaunchFlags(['/usr/bin/node', '/app/dist/cli/main.js', 'get', 'serve'], [], {})).toEqual([]);
    expect(relaunchFlags(['/usr/bin/node', '/app/dist/cli/main.js', '--help'], [], {})).toEqual([]);
  });

  it('never re-executes twice, and not when switched off', () => {
    expect(relaunchFlags(SERVE, [], { [RELAUNCHED_ENV]: '--single-threaded-gc' })).toEqual([]);
    expect(relaunchFlags(SERVE, [], { HANGAR_NODE_RELAUNCH: '0' })).toEqual([]);
    expect(relaunchFlags(SERVE, [], { HANGAR_NODE_RELAUNCH: '1' })).toEqual([...TUNED_V8_FLAGS]);
  });
});

describe('npm start', () => {
  it('passes the same tuned flags on the command line (so it needs no re-execution)', async () => {
    const { readFile } = await import('node:fs/promises');
    const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
    expect(manifest.scripts.start).toBe(`node ${TUNED_V8_FLAGS.join(' ')} dist/cli/main.js serve`);
  });
});
