/**
 * The config file of `hangar serve` (`--config hangar.json`, docs/configuration.md): its JSON
 * Schema, loading it with errors that name the bad key, and laying the command line over it.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { InvalidArgumentError } from '../errors.js';
import { validateName } from '../names.js';
import { parseDuration } from '../core/retention.js';

/** Where a serve option's value came from, as commander reports it (`cli`, `env`, `default`, …). */
export type OptionSource = (key: string) => string | undefined;

/** What a config file may hold besides the serve flags: plugins and bucket mounts. */
export interface ServeConfigExtras {
  /** Plugin modules (paths or package names): the file's (made absolute), then env's, then the flags'. */
  readonly plugins?: readonly string[];
  /** Bucket name → store location of the bucket; other buckets stay on `data`. */
  readonly buckets?: Readonly<Record<string, string>>;
}

const positive = { type: 'integer', minimum: 1 } as const;
const nonNegative = { type: 'integer', minimum: 0 } as const;
const text = { type: 'string', minLength: 1 } as const;
const duration = { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|min|h|d|w)?\\s*$' } as const;
const memorySize = { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*([KkMmGgTt][Ii]?)?[Bb]\\s*$' } as const;

/**
 * The JSON Schema of the config file: every `hangar serve` flag as its camelCase name
 * (`--keep-for` → `keepFor`), plus `plugins` and `buckets`. Values take what the flag takes: numbers
 * for counts, byte sizes and milliseconds, strings for durations (`"7d"`) and memory sizes (`"4GB"`).
 */
export const SERVE_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    host: text,
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    data: text,
    plugins: { type: 'array', items: text },
    buckets: { type: 'object', additionalProperties: text },
    sqlTimeout: positive,
    sqlMemoryLimit: memorySize,
    sqlMaxResultBytes: positive,
    sqlMaxConcurrentPerToken: positive,
    sqlThreads: positive,
    sqlCacheDir: text,
    sqlCacheSize: positive,
    sqlHotSize: nonNegative,
    tlsCert: text,
    tlsKey: text,
    tlsClientCa: text,
    secret: text,
    secretFile: text,
    users: text,
    insecure: { type: 'boolean' },
    maxMessageBytes: positive,
    maxPutBytes: positive,
    idleTimeout: positive,
    maxConcurrentStreams: positive,
    readCacheSize: nonNegative,
    keepVersions: positive,
    keepFor: duration,
    vacuumGrace: duration,
    vacuumEvery: duration,
    streamRollInterval: duration,
    segmentCompression: { type: 'string', enum: ['none', 'lz4'] },
    compactThreshold: nonNegative,
    httpPort: { type: 'integer', minimum: 0, maximum: 65535 },
    httpCorsOrigin: text,
    open: { type: 'boolean' },
  },
} as const;

type ConfigKey = keyof typeof SERVE_CONFIG_SCHEMA.properties;
const KEYS = Object.keys(SERVE_CONFIG_SCHEMA.properties) as ConfigKey[];
const DURATION_KEYS: ReadonlySet<string> = new Set(['keepFor', 'vacuumGrace', 'vacuumEvery', 'streamRollInterval']);
/** Values that are paths; relative ones are relative to the config file's directory. */
const PATH_KEYS: ReadonlySet<string> = new Set(['sqlCacheDir', 'tlsCert', 'tlsKey', 'tlsClientCa', 'secretFile', 'users']);

/** A loaded config file: the options it sets, with paths resolved and durations in milliseconds. */
export type ServeConfig = Readonly<Record<string, unknown>> & ServeConfigExtras;

const validate = new Ajv({ allErrors: true, verbose: true }).compile(SERVE_CONFIG_SCHEMA);

/**
 * Reads and validates a config file.
 * @throws InvalidArgumentError naming the file, each bad key and what it expects
 */
export function loadServeConfig(file: string): ServeConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new InvalidArgumentError(`cannot read the config file ${file}: ${reason}`, { cause: error });
  }
  if (!validate(parsed)) {
    const problems = (validate.errors ?? []).map(describeError);
    throw new InvalidArgumentError(
      `invalid config file ${file}:\n  ${[...new Set(problems)].join('\n  ')}\n(the keys and their types are in docs/configuration.md)`,
    );
  }
  return resolveConfig(parsed as Record<string, unknown>, dirname(resolve(file)), file);
}

/** Makes paths absolute against the file's directory and parses durations into milliseconds. */
function resolveConfig(raw: Record<string, unknown>, base: string, file: string): ServeConfig {
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === '$schema') continue;
    if (DURATION_KEYS.has(key)) config[key] = parseDuration(value as string, `"${key}" in ${file}`);
    else if (PATH_KEYS.has(key)) config[key] = resolve(base, value as string);
    else if (key === 'data') config[key] = resolveLocation(value as string, base);
    else if (key === 'plugins') config[key] = (value as string[]).map((plugin) => resolvePluginPath(plugin, base));
    else if (key === 'buckets') {
      const buckets: Record<string, string> = {};
      for (const [bucket, location] of Object.entries(value as Record<string, string>)) {
        try {
          validateName('bucket', bucket);
        } catch (error) {
          throw new InvalidArgumentError(`invalid config file ${file}: "buckets" key ${(error as Error).message}`);
        }
        buckets[bucket] = resolveLocation(location, base);
      }
      config[key] = buckets;
    } else config[key] = value;
  }
  return config;
}

/** A store location with a relative directory made absolute; URLs and absolute paths unchanged. */
function resolveLocation(location: string, base: string): string {
  // As the connector registry: two or more letters before ':' make a URL scheme.
  return /^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(location) || isAbsolute(location) ? location : resolve(base, location);
}

/**
 * A plugin given as a relative path (`./x.mjs`, `../x.mjs`) made absolute against `base`; absolute
 * paths, `file:` URLs and package names unchanged.
 */
export function resolvePluginPath(plugin: string, base: string): string {
  return /^\.\.?[\\/]/.test(plugin) ? resolve(base, plugin) : plugin;
}

/** One ajv error as "KEY must be EXPECTED, got VALUE". */
function describeError(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  if (error.keyword === 'additionalProperties' && path === '') {
    const key = String((error.params as { additionalProperty: string }).additionalProperty);
    const near = closestKey(key);
    return `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}`;
  }
  if (error.keyword === 'type' && path === '') return `the file must hold a JSON object, got ${describeValue(error.data)}`;
  return `"${path}" must be ${expected(error.parentSchema as Record<string, unknown>, path)}, got ${describeValue(error.data)}`;
}

/** In words, what a property's schema accepts. */
function expected(schema: Record<string, unknown>, path: string): string {
  if (Array.isArray(schema['enum'])) return `one of ${schema['enum'].map((value) => JSON.stringify(value)).join(', ')}`;
  if (schema === duration) return 'a duration string such as "90s", "15m", "12h", "7d" or "0"';
  if (schema === memorySize) return 'a memory size string such as "512MB", "4GB" or "2GiB"';
  switch (schema['type']) {
    case 'integer': {
      const { minimum, maximum } = schema as { minimum?: number; maximum?: number };
      if (maximum !== undefined) return `an integer from ${minimum} to ${maximum}`;
      return minimum === 1 ? 'a positive integer' : 'an integer, 0 or more';
    }
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'an array of non-empty strings';
    case 'object':
      return 'an object mapping bucket names to store locations';
    default:
      return path.startsWith('buckets.') || path === 'data' ? 'a store location string' : 'a non-empty string';
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${JSON.stringify(value)} (${typeof value})`;
}

/** The known key nearest to a misspelt one (edit distance at most 3), if any. */
function closestKey(key: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of KEYS) {
    const distance = editDistance(key.toLowerCase().replace(/[-_]/g, ''), candidate.toLowerCase());
    if (distance <= 3 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The serve options: the command line over the config file over the defaults. A value given as a
 * flag or by its environment variable wins over the file; the file wins over a flag's default.
 * Plugins add up (the file's, then `HANGAR_PLUGINS`, then `--plugin`: a later one registering the
 * same scheme replaces an earlier). `--secret` and `--secret-file` are one setting: either given on
 * the command line replaces both from the file.
 */
export function applyServeConfig<T extends object>(
  commandLine: T & { readonly plugins?: readonly string[] },
  sourceOf: OptionSource,
  config: ServeConfig,
): T & ServeConfigExtras {
  const fromCommandLine = (key: string): boolean => {
    const source = sourceOf(key);
    return source === 'cli' || source === 'env';
  };
  const merged: Record<string, unknown> = { ...commandLine };
  const secretGiven = fromCommandLine('secret') || fromCommandLine('secretFile');
  for (const [key, value] of Object.entries(config)) {
    if (key === 'plugins') merged[key] = [...(value as string[]), ...(commandLine.plugins ?? [])];
    else if ((key === 'secret' || key === 'secretFile') && secretGiven) continue;
    else if (!fromCommandLine(key)) merged[key] = value;
  }
  return merged as T & ServeConfigExtras;
}
