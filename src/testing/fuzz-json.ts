/**
 * The JSON inside Flight messages (tickets, descriptor commands, criteria, action bodies; see
 * docs/protocol.md), as the protocol fuzzer sends it: a valid request of the right shape, then
 * hostile values, deep nesting, broken text and invalid UTF-8.
 */
import type { FuzzRandom } from './fuzz-random.js';
import { withInvalidUtf8 } from './protobuf-fuzz-encoding.js';

/** Where a JSON body goes; each has its own valid shapes. */
export type JsonContext = 'ticket' | 'info-descriptor' | 'put-descriptor' | 'criteria' | `action:${string}`;

/** Frame names the fuzzer uses: a few, so valid puts overwrite rather than accumulate. */
export const FUZZ_FRAMES = ['f0', 'f1', 'f2', 'f3'] as const;
/** The bucket every fuzzed write goes to. */
export const FUZZ_BUCKET = 'fuzz';

/**
 * Actions the fuzzer calls. `shutdown` is left out on purpose: it is answered correctly by
 * stopping the server, which would end the run.
 */
export const FUZZED_ACTIONS = ['ping', 'buckets', 'stat', 'delete', 'versions', 'restore', 'compact', 'vacuum', 'delete_bucket', 'resample'] as const;

const frame = (random: FuzzRandom): string => random.pick(FUZZ_FRAMES);

/** Valid requests of each context, as plain objects. */
function validShape(random: FuzzRandom, context: JsonContext): Record<string, unknown> {
  const name = frame(random);
  switch (context) {
    case 'ticket':
      return random.pick<() => Record<string, unknown>>([
        () => ({ name, bucket: FUZZ_BUCKET }),
        () => ({ name, bucket: FUZZ_BUCKET, columns: ['x'], start: 0, end: '2030-01-01T00:00:00Z', limit: 2 }),
        () => ({ name, bucket: FUZZ_BUCKET, version: 1 }),
        () => ({ sql: `SELECT count(*) AS n FROM ${name}`, bucket: FUZZ_BUCKET }),
        () => ({ sql: 'SELECT 1 AS one', bucket: FUZZ_BUCKET, as_of: '2020-01-01T00:00:00Z' }),
      ])();
    case 'info-descriptor':
      return random.pick<() => Record<string, unknown>>([
        () => ({ name, bucket: FUZZ_BUCKET }),
        () => ({ name, bucket: FUZZ_BUCKET, as_of: 1_700_000_000 }),
        () => ({ sql: `SELECT * FROM ${name}`, bucket: FUZZ_BUCKET }),
      ])();
    case 'put-descriptor':
      return {
        name,
        bucket: FUZZ_BUCKET,
        mode: random.pick(['error', 'append', 'replace']),
        ...(random.chance(0.3) ? { metadata: { unit: 'm', n: random.int(100) } } : {}),
        ...(random.chance(0.2) ? { expected_version: random.int(3) } : {}),
      };
    case 'criteria':
      return { bucket: FUZZ_BUCKET, ...(random.chance(0.5) ? { regex: 'f[0-9]' } : {}), ...(random.chance(0.2) ? { metadata: { unit: 'm' } } : {}) };
    default:
      return validActionBody(random, context.slice('action:'.length), name);
  }
}

function validActionBody(random: FuzzRandom, action: string, name: string): Record<string, unknown> {
  switch (action) {
    case 'stat':
    case 'versions':
    case 'compact':
    case 'delete':
      return { name, bucket: FUZZ_BUCKET };
    case 'restore':
      return { name, bucket: FUZZ_BUCKET, version: random.between(1, 3) };
    case 'vacuum':
      return { bucket: FUZZ_BUCKET, dry_run: random.chance(0.5) };
    case 'delete_bucket':
      return { name: FUZZ_BUCKET, mode: 'error' };
    case 'resample':
      return random.chance(0.5)
        ? { source: name, target: frame(random), source_bucket: FUZZ_BUCKET, target_bucket: FUZZ_BUCKET, mode: 'replace', rule: '1min', time_col: 't', aggregation_func: 'mean' }
        : { source: name, target: frame(random), source_bucket: FUZZ_BUCKET, target_bucket: FUZZ_BUCKET, mode: 'replace', sql: `SELECT * FROM ${name}` };
    default:
      return {};
  }
}

/** A JSON value `depth` levels deep, built without recursion. */
function deepValue(depth: number, arrays: boolean): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
  return value;
}

/** Deep nesting as text, so depths past what JSON.stringify can write are sent too. */
function deepText(depth: number, arrays: boolean, closed: boolean): string {
  const open = arrays ? '[' : '{"a":';
  const close = arrays ? ']' : '}';
  return `{"name":${open.repeat(depth)}1${closed ? close.repeat(depth) : ''}}`;
}

/** Values that have broken or stressed request parsers. */
function hostileValue(random: FuzzRandom): unknown {
  return random.pick<() => unknown>([
    () => null,
    () => '',
    () => '..',
    () => '../etc',
    () => '/etc/passwd',
    () => 'a/b',
    () => 'a\u0000b',
    () => '%2e%2e',
    () => '.hidden',
    () => '\\',
    () => '\ud800',
    () => 'é'.repeat(random.between(1, 300)),
    () => 'x'.repeat(random.pick([199, 200, 201, 10_000, 100_000])),
    () => -1,
    () => -0,
    () => 0.5,
    () => 1e308,
    () => 2 ** 53 + 1,
    () => Number.MAX_SAFE_INTEGER,
    () => [],
    () => ['x', 1, null],
    () => {},
    () => JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as unknown,
    () => true,
    () => '(a+)+$',
    () => '[',
    () => '2030-13-45T99:99:99Z',
    () => '1e400',
    () => 'SELECT 1; DROP TABLE f0',
    () => deepValue(random.between(2, 2000), random.chance(0.5)),
  ])();
}

/** Keys a mutation may set: the protocol's own, and a few that are only trouble. */
const KEYS = ['name', 'bucket', 'sql', 'columns', 'start', 'end', 'limit', 'mode', 'regex', 'metadata', 'version', 'as_of', 'expected_version', 'source', 'target', 'rule', 'time_col', 'aggregation_func', 'dry_run', '__proto__', 'constructor', ''];

/** What a JSON mutation may do, by name. */
export const JSON_MUTATIONS = ['valid', 'hostile-value', 'deep-nesting', 'duplicate-key', 'big-number', 'truncated', 'not-an-object', 'invalid-utf8', 'broken-syntax', 'bom', 'empty'] as const;

/** A JSON body for `context`: valid (always, with `valid`), or mutated one way; appends what it did to `log`. */
export function fuzzJson(random: FuzzRandom, context: JsonContext, log: string[], valid = false): Uint8Array {
  const body = validShape(random, context);
  const mutation = valid || random.chance(0.25) ? 'valid' : random.pick(JSON_MUTATIONS);
  log.push(`json ${mutation}`);
  const text = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), 'utf8');
  switch (mutation) {
    case 'valid':
      return text(body);
    case 'hostile-value': {
      const keys = [...Object.keys(body), ...KEYS];
      for (let i = random.between(1, 3); i > 0; i--) {
        const key = random.pick(keys);
        const value = hostileValue(random);
        // A "__proto__" key must become an own property, as JSON.parse makes it.
        Object.defineProperty(body, key, { value, enumerable: true, configurable: true, writable: true });
      }
      return text(body);
    }
    case 'deep-nesting': {
      const depth = random.chance(0.8) ? random.between(10, 5000) : random.between(5000, 200_000);
      const json = deepText(depth, random.chance(0.5), random.chance(0.9));
      // Put the nesting where it is read: metadata of a put, or a name anywhere.
      return Buffer.from(context === 'put-descriptor' && random.chance(0.5) ? json.replace('{"name":', `{"name":"f0","bucket":"${FUZZ_BUCKET}","metadata":{"k":`) + '}' : json, 'utf8');
    }
    case 'duplicate-key': {
      const json = JSON.stringify(body);
      return Buffer.from(`${json.slice(0, -1)}${json.length > 2 ? ',' : ''}"name":${JSON.stringify(random.pick(['f0', '..', 1]))}}`, 'utf8');
    }
    case 'big-number': {
      const key = random.pick(['limit', 'start', 'end', 'version', 'expected_version', 'as_of']);
      const number = random.pick(['1e999', '-1e999', '9'.repeat(random.between(20, 400)), '1.0000000000000002', '-0', '0.1e-400', '123456789012345678901234567890']);
      const json = JSON.stringify(body);
      return Buffer.from(`${json.slice(0, -1)}${json.length > 2 ? ',' : ''}"${key}":${number}}`, 'utf8');
    }
    case 'truncated': {
      const json = text(body);
      return json.subarray(0, random.int(json.byteLength));
    }
    case 'not-an-object':
      return Buffer.from(random.pick(['[]', '"f0"', '1', 'null', 'true', '[{"name":"f0"}]', '""']), 'utf8');
    case 'invalid-utf8':
      return withInvalidUtf8(random, text(body));
    case 'broken-syntax':
      return Buffer.from(random.pick(["{'name':'f0'}", '{"name":"f0",}', '{"name":NaN}', '{"name":"f0"} trailing', '{/*c*/"name":"f0"}', '{"name":"\\u12"}', '{"name" "f0"}', '{"a":1e}']), 'utf8');
    case 'bom':
      return Buffer.concat([Uint8Array.from([0xef, 0xbb, 0xbf]), text(body)]);
    case 'empty':
      return new Uint8Array(0);
  }
}
