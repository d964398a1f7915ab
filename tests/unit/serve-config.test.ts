// The serve config file: validation messages that name the bad key, path resolution, and the
// command line winning over the file.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { pluginsFromEnvironment } from '../../src/cli/plugin-option.js';
import { SERVE_CONFIG_SCHEMA, applyServeConfig, loadServeConfig } from '../../src/cli/serve-config.js';

const directory = mkdtempSync(join(tmpdir(), 'hangar-config-'));

function configFile(content: unknown): string {
  const file = join(directory, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function loadError(content: unknown): string {
  try {
    loadServeConfig(configFile(content));
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('loadServeConfig', () => {
  it('reads every kind of value, resolving paths against the file and durations to milliseconds', () => {
    const config = loadServeConfig(
      configFile({
        host: '127.0.0.1',
        port: 0,
        data: 'store',
        plugins: ['./plugin.mjs', '/abs/other.mjs', 'hangar-redis'],
        buckets: { archive: 's3://b/p?endpoint=http://127.0.0.1:1', scratch: 'memory:', local: 'dir' },
        keepFor: '2d',
        vacuumEvery: '0',
        users: 'users.json',
        insecure: false,
        segmentCompression: 'lz4',
        sqlMemoryLimit: '4GB',
        sqlHotSize: 0,
        readCacheSize: 0,
      }),
    );
    expect(config).toEqual({
      host: '127.0.0.1',
      port: 0,
      data: join(directory, 'store'),
      plugins: [join(directory, 'plugin.mjs'), '/abs/other.mjs', 'hangar-redis'],
      buckets: { archive: 's3://b/p?endpoint=http://127.0.0.1:1', scratch: 'memory:', local: join(directory, 'dir') },
      keepFor: 2 * 86_400_000,
      vacuumEvery: 0,
      users: join(directory, 'users.json'),
      insecure: false,
      segmentCompression: 'lz4',
      sqlMemoryLimit: '4GB',
      sqlHotSize: 0,
      readCacheSize: 0,
    });
  });

  it('names an unknown key and suggests the nearest known one', () => {
    expect(loadError({ keep_for: '7d' })).toMatch(/unknown key "keep_for" \(did you mean "keepFor"\?\)/);
    expect(loadError({ colour: 'blue' })).toMatch(/unknown key "colour"$/m);
  });

  it('names each bad key with the type it expects and the value it got', () => {
    const message = loadError({ port: '8815', insecure: 'yes', keepFor: 7, segmentCompression: 'zstd', buckets: { archive: 5 }, plugins: 'x.mjs' });
    expect(message).toContain('"port" must be an integer from 0 to 65535, got "8815" (string)');
    expect(message).toContain('"insecure" must be true or false, got "yes" (string)');
    expect(message).toContain('"keepFor" must be a duration string such as "90s", "15m", "12h", "7d" or "0", got 7 (number)');
    expect(message).toContain('"segmentCompression" must be one of "none", "lz4", got "zstd" (string)');
    expect(message).toContain('"buckets.archive" must be a store location string, got 5 (number)');
    expect(message).toContain('"plugins" must be an array of non-empty strings, got "x.mjs" (string)');
    expect(message).toContain('docs/configuration.md');
  });

  it('refuses out-of-range numbers, bad bucket names, a non-object file, bad JSON and a missing file', () => {
    expect(loadError({ port: 70000 })).toContain('"port" must be an integer from 0 to 65535, got 70000 (number)');
    expect(loadError({ sqlThreads: 0 })).toContain('"sqlThreads" must be a positive integer, got 0 (number)');
    expect(loadError({ buckets: { '../x': 'memory:' } })).toMatch(/"buckets" key invalid bucket name "\.\.\/x"/);
    expect(loadError([1])).toContain('the file must hold a JSON object, got an array');
    expect(loadError('{"port": 1,}')).toMatch(/cannot read the config file .*JSON/);
    expect(() => loadServeConfig(join(directory, 'absent.json'))).toThrow(/cannot read the config file .*absent\.json: no such file/);
  });
});

describe('applyServeConfig', () => {
  const commandLine = { host: '127.0.0.1', port: 8815, data: './hangar-data', keepFor: 1000, plugins: ['/cli.mjs'] };

  it('takes the file over defaults and keeps flags and environment variables over the file', () => {
    const sources: Record<string, string> = { host: 'default', port: 'env', data: 'default', keepFor: 'cli' };
    const merged = applyServeConfig(commandLine, (key) => sources[key], {
      host: '::1',
      port: 1,
      data: '/from/file',
      keepFor: 5,
      readCacheSize: 0,
      plugins: ['/file.mjs'],
      buckets: { a: 'memory:' },
    });
    expect(merged).toEqual({
      host: '::1',
      port: 8815,
      data: '/from/file',
      keepFor: 1000,
      readCacheSize: 0,
      plugins: ['/file.mjs', '/cli.mjs'],
      buckets: { a: 'memory:' },
    });
  });

  it('treats --secret and --secret-file as one setting', () => {
    const sources: Record<string, string> = { secretFile: 'cli' };
    const merged = applyServeConfig({ ...commandLine, secretFile: '/s' }, (key) => sources[key], { secret: 'from-the-file-0123456789' });
    expect(merged).not.toHaveProperty('secret');
    expect(merged).toHaveProperty('secretFile', '/s');
  });
});

describe('pluginsFromEnvironment', () => {
  it('splits on commas and drops blanks', () => {
    expect(pluginsFromEnvironment(' ./a.mjs, ,file:///b.mjs,pkg ')).toEqual(['./a.mjs', 'file:///b.mjs', 'pkg']);
    expect(pluginsFromEnvironment(undefined)).toEqual([]);
  });
});

describe('SERVE_CONFIG_SCHEMA', () => {
  it('has a key for every hangar serve flag', () => {
    const serve = buildProgram().commands.find((command) => command.name() === 'serve')!;
    const flags = serve.options.map((option) => option.attributeName()).filter((name) => name !== 'config');
    const keys = new Set(Object.keys(SERVE_CONFIG_SCHEMA.properties));
    // Repeatable flags have a plural key; a --mount is a "buckets" entry whose location starts with delta+.
    const keyOf: Record<string, string> = { plugin: 'plugins', mount: 'buckets' };
    const missing = flags.map((name) => keyOf[name] ?? name).filter((name) => !keys.has(name));
    expect(missing, 'add these serve flags to SERVE_CONFIG_SCHEMA (src/cli/serve-config.ts) and docs/configuration.md').toEqual([]);
  });

  it('has every key documented in docs/configuration.md', () => {
    const documentation = readFileSync(join(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
    const undocumented = Object.keys(SERVE_CONFIG_SCHEMA.properties).filter((key) => key !== '$schema' && !documentation.includes(`\`${key}\``));
    expect(undocumented, 'document these config keys in docs/configuration.md').toEqual([]);
  });
});
