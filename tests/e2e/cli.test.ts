// The `hangar` client commands, run as subprocesses (node dist/cli/main.js) against an in-process server.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  Dictionary,
  Float64,
  Int32,
  Int64,
  Table,
  TimestampMillisecond,
  Utf8,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { Table as WasmTable, readParquet, writeParquet } from 'parquet-wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { encodeTable } from '../../src/cli/table-files.js';
import { renderPreview } from '../../src/cli/table-preview.js';
import { unifyDictionaries } from '../../src/cli/unify-dictionaries.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');

/** Rebuilds dist when any source file is newer than the CLI entry, so the subprocess runs this code. */
async function ensureBuilt(): Promise<void> {
  const built = existsSync(MAIN) ? statSync(MAIN).mtimeMs : 0;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
        entry.isDirectory() ? newest(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs,
      ),
    );
  if (newest(join(ROOT, 'src')) > built) await run('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT });
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

let server: HangarServer;
let client: HangarClient;
let dir: string;

/** Runs `hangar ARGS` against the test server (unless the arguments name one). */
async function hangar(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const withServer = args.includes('--server') || env.HANGAR_SERVER ? args : [...args, '--server', server.location];
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...withServer], {
      cwd: dir,
      env: { ...process.env, HANGAR_SERVER: '', ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const CSV = [
  'id,name,score,ok,note',
  '1,alice,1.5,true,"hello, world"',
  '2,bob,,false,""',
  '3,"car""l",2.25,TRUE,',
  '4,"multi',
  'line",-3e2,false,plain',
  '',
].join('\n');

function sampleTable(rows: number): Table {
  return new Table({
    id: vectorFromArray(Array.from({ length: rows }, (_, i) => BigInt(i)), new Int64()),
    value: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => i * 0.25)),
    tag: vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? null : ['a', 'b', 'c'][i % 3]!)),
      new Dictionary(new Utf8(), new Int32()),
    ),
    at: vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 6 === 5 ? null : new Date(Date.UTC(2024, 0, 1) + i * 1000))),
      new TimestampMillisecond(),
    ),
  });
}

function expectSameValues(actual: Table, expected: Table): void {
  expect(actual.numRows).toBe(expected.numRows);
  expect(actual.schema.fields.map((f) => f.name)).toEqual(expected.schema.fields.map((f) => f.name));
  for (const field of expected.schema.fields) {
    const want = [...expected.getChild(field.name)!];
    expect([...actual.getChild(field.name)!]).toEqual(want);
  }
}

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hangar-cli-'));
  server = await HangarServer.start({ host: '127.0.0.1', port: 0, data: 'memory:' });
  client = HangarClient.connect(server.location);
  await writeFile(join(dir, 'people.csv'), CSV);
  await writeFile(join(dir, 'sample.parquet'), writeParquet(WasmTable.fromIPCStream(tableToIPC(sampleTable(5_000), 'stream'))));
  await writeFile(join(dir, 'sample.arrow'), tableToIPC(sampleTable(1_234), 'file'));
});

afterAll(async () => {
  client?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('hangar put / get', () => {
  it('puts a CSV file, inferring int, float, bool and string columns', async () => {
    const put = await hangar(['put', 'people.csv', 'people']);
    expect(put).toMatchObject({ code: 0, stderr: '' });
    expect(put.stdout).toBe('stored 4 rows as default/people (version 1, 4 rows in total)\n');
    const stored = await client.get('people');
    expect(stored.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'id:Int64',
      'name:Utf8',
      'score:Float64',
      'ok:Bool',
      'note:Utf8',
    ]);
    expect([...stored.getChild('name')!]).toEqual(['alice', 'bob', 'car"l', 'multi\nline']);
    expect([...stored.getChild('score')!]).toEqual([1.5, null, 2.25, -300]);
    expect([...stored.getChild('ok')!]).toEqual([true, false, true, false]);
    expect([...stored.getChild('note')!]).toEqual(['hello, world', '', null, 'plain']);
  });

  it('gets a frame as CSV to a file and, in a pipe, to stdout', async () => {
    expect((await hangar(['get', 'people', '-o', 'people-out.csv'])).code).toBe(0);
    const expected = ['id,name,score,ok,note', '1,alice,1.5,true,"hello, world"', '2,bob,,false,""', '3,"car""l",2.25,true,', '4,"multi\nline",-300.0,false,plain', ''].join('\n');
    expect(await readFile(join(dir, 'people-out.csv'), 'utf8')).toBe(expected);
    const piped = await hangar(['get', 'people']);
    expect(piped).toMatchObject({ code: 0, stdout: expected });
    const projected = await hangar(['get', 'people', '--columns', 'ok, id']);
    expect(projected.stdout).toBe('ok,id\ntrue,1\nfalse,2\ntrue,3\nfalse,4\n');
  });

  it('puts a Parquet file and gets it back as Parquet and Arrow', async () => {
    const put = await hangar(['put', 'sample.parquet', 'sample', '--bucket', 'files']);
    expect(put.code).toBe(0);
    expect(put.stdout).toContain('stored 5000 rows as files/sample');
    const original = tableFromIPC(readParquet(await readFile(join(dir, 'sample.parquet'))).intoIPCStream());

    expect((await hangar(['get', 'sample', '--bucket', 'files', '-o', 'back.parquet'])).code).toBe(0);
    expectSameValues(tableFromIPC(readParquet(await readFile(join(dir, 'back.parquet'))).intoIPCStream()), original);

    expect((await hangar(['get', 'sample', '--bucket', 'files', '-o', 'back.arrow'])).code).toBe(0);
    const arrow = tableFromIPC(await readFile(join(dir, 'back.arrow')));
    expectSameValues(arrow, original);
    expect(String(arrow.schema.fields.find((f) => f.name === 'at')!.type)).toMatch(/^Timestamp/);
  });

  it('puts an Arrow IPC file and honours --mode', async () => {
    expect((await hangar(['put', 'sample.arrow', 'arrowed', '--bucket', 'files'])).code).toBe(0);
    const again = await hangar(['put', 'sample.arrow', 'arrowed', '--bucket', 'files']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("hangar: frame 'arrowed' in bucket 'files' already exists; use mode \"append\" or \"replace\"\n");
    const unordered = await hangar(['put', 'sample.arrow', 'arrowed', '--bucket', 'files', '--mode', 'append']);
    expect(unordered.stderr).toMatch(/before the frame's last time/);
    const appended = await hangar(['put', 'sample.arrow', 'arrowed', '--bucket', 'files', '--mode', 'append', '--allow-unordered']);
    expect(appended.stdout).toContain('(version 2, 2468 rows in total)');
    const replaced = await hangar(['put', 'sample.arrow', 'arrowed', '--bucket', 'files', '--mode', 'replace']);
    expect(replaced.stdout).toContain('(version 3, 1234 rows in total)');
    const stored = await client.get('arrowed', { bucket: 'files' });
    expectSameValues(stored, tableFromIPC(await readFile(join(dir, 'sample.arrow'))));
  });
  it('gets a time range with --start, --end, --limit and --columns', async () => {
    // sample's time column `at` is 2024-01-01T00:00:00Z + i s, null for i % 6 == 5 (i = 11, 17 here).
    const ranged = await hangar(['get', 'sample', '--bucket', 'files', '--columns', 'id', '--start', '2024-01-01T00:00:10', '--end', '2024-01-01T00:00:20']);
    expect(ranged).toMatchObject({ code: 0, stdout: 'id\n10\n12\n13\n14\n15\n16\n18\n19\n' });
    const limited = await hangar(['get', 'sample', '--bucket', 'files', '--columns', 'id', '--start', '1704067210', '--limit', '3']);
    expect(limited.stdout).toBe('id\n10\n12\n13\n');
    const badLimit = await hangar(['get', 'sample', '--bucket', 'files', '--limit', 'ten']);
    expect(badLimit.code).not.toBe(0);
    expect(badLimit.stderr).toMatch(/^hangar: --limit must be a non-negative integer/);
    const badStart = await hangar(['get', 'sample', '--bucket', 'files', '--start', 'noon']);
    expect(badStart.code).not.toBe(0);
    expect(badStart.stderr).toMatch(/^hangar: .*"start" "noon" is not valid/);
  });
});

describe('hangar sql', () => {
  // Uses the frames stored above: default/people (4 rows) and files/sample (5000 rows, id = 0…4999).
  it('writes a query result to CSV, and to stdout in a pipe', async () => {
    const written = await hangar(['sql', 'SELECT id, name FROM people WHERE ok ORDER BY id', '-o', 'query.csv']);
    expect(written).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await readFile(join(dir, 'query.csv'), 'utf8')).toBe('id,name\n1,alice\n3,"car""l"\n');
    const piped = await hangar(['sql', 'SELECT count(*) AS n FROM sample', '--bucket', 'files']);
    expect(piped).toMatchObject({ code: 0, stdout: 'n\n5000\n' });
  });

  it('writes a cross-bucket join to Parquet', async () => {
    const sql = 'SELECT p.id, p.name, s.value FROM people p JOIN files.sample s ON p.id = s.id ORDER BY p.id';
    expect((await hangar(['sql', sql, '-o', 'joined.parquet'])).code).toBe(0);
    const joined = tableFromIPC(readParquet(await readFile(join(dir, 'joined.parquet'))).intoIPCStream());
    expect(joined.toArray().map((row) => row.toJSON())).toEqual([
      { id: 1n, name: 'alice', value: 0.25 },
      { id: 2n, name: 'bob', value: 0.5 },
      { id: 3n, name: 'car"l', value: 0.75 },
      { id: 4n, name: 'multi\nline', value: 1 },
    ]);
  });

  it('writes to Arrow with --bucket, naming the default bucket\'s frames as "default".frame', async () => {
    const sql = 'SELECT s.tag, count(*) AS n FROM sample s JOIN "default".people p ON s.id < p.id GROUP BY s.tag ORDER BY s.tag::VARCHAR NULLS FIRST';
    expect((await hangar(['sql', sql, '--bucket', 'files', '-o', 'grouped.arrow'])).code).toBe(0);
    const grouped = tableFromIPC(await readFile(join(dir, 'grouped.arrow')));
    // ids 0…3 pair with the people whose id is larger: 4 + 3 + 2 + 1 rows; tag(0) is null, then b, c, a.
    // (A stored dictionary column is an ENUM to DuckDB, which orders by dictionary position; hence ::VARCHAR.)
    expect(grouped.toArray().map((row) => [row.tag, row.n])).toEqual([
      [null, 4n],
      ['a', 1n],
      ['b', 3n],
      ['c', 2n],
    ]);
  });

  it('reports bad SQL, refused statements and a bad extension with a non-zero exit', async () => {
    const syntax = await hangar(['sql', 'SELEC 1', '-o', 'never.csv']);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(/^hangar: Parser Error: syntax error at or near "SELEC"/);
    expect(existsSync(join(dir, 'never.csv')) || existsSync(join(dir, 'never.csv.partial'))).toBe(false);

    const unknown = await hangar(['sql', 'SELECT * FROM no_such_frame']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^hangar: .*no_such_frame/);

    const copy = await hangar(['sql', "COPY people TO '/tmp/hangar-cli-escape.csv'"]);
    // A refused statement is PERMISSION_DENIED: the exit code of refusals (src/cli/exit-codes.ts).
    expect(copy.code).toBe(4);
    expect(copy.stderr).toMatch(/^hangar: Permission Error: Cannot access file/);
    expect(existsSync('/tmp/hangar-cli-escape.csv')).toBe(false);

    const badExtension = await hangar(['sql', 'SELECT 1', '-o', 'out.xlsx']);
    expect(badExtension.code).toBe(1);
    expect(badExtension.stderr).toMatch(/^hangar: cannot tell the format of "out.xlsx"/);
  });
});

describe('hangar ls / buckets / rm', () => {
  it('lists frames with rows, bytes and columns, optionally by regex', async () => {
    const listed = await hangar(['ls', 'files']);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+ROWS\s+BYTES\s+COLUMNS$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/))).toEqual(
      expect.arrayContaining([
        [expect.stringMatching(/^arrowed$/), '1234', expect.stringMatching(/B$/), 'id, value, tag, at'],
        [expect.stringMatching(/^sample$/), '5000', expect.stringMatching(/B$/), 'id, value, tag, at'],
      ]),
    );
    const filtered = await hangar(['ls', 'files', '--regex', '^arr']);
    expect(filtered.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/)[0])).toEqual(['arrowed']);
    const defaults = await hangar(['ls']);
    expect(defaults.stdout).toMatch(/^people\s+4\s/m);
  });

  it('lists buckets', async () => {
    const buckets = await hangar(['buckets']);
    expect(buckets.code).toBe(0);
    expect(buckets.stdout.trimEnd().split('\n').sort()).toEqual(['default', 'files']);
  });

  it('removes a frame, then reports it missing with a non-zero exit', async () => {
    const removed = await hangar(['rm', 'arrowed', '--bucket', 'files']);
    expect(removed).toMatchObject({ code: 0, stdout: 'deleted files/arrowed\n' });
    const again = await hangar(['rm', 'arrowed', '--bucket', 'files']);
    // Not found has its own exit code (src/cli/exit-codes.ts).
    expect(again.code).toBe(3);
    expect(again.stderr).toBe("hangar: frame 'arrowed' in bucket 'files' does not exist\n");
    const get = await hangar(['get', 'arrowed', '--bucket', 'files']);
    expect(get.code).toBe(3);
    expect(get.stderr).toContain('does not exist');
  });

  it('lists versions, reads an old one, restores it, compacts and vacuums', async () => {
    const ints = (values: number[]) => new Table({ n: vectorFromArray(values, new Int32()) });
    await client.put('hist', ints([1, 2]), { bucket: 'ver' });
    await client.put('hist', ints([3]), { bucket: 'ver', mode: 'append' });
    await client.put('hist', ints([9]), { bucket: 'ver', mode: 'replace' });
    const listed = await hangar(['versions', 'hist', '--bucket', 'ver']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^VERSION\s+COMMITTED\s+OPERATION\s+ROWS\s+BYTES\s+SEGMENTS$/);
    expect(listed.stdout.split('\n').slice(1, 4).map((line) => line.trim().split(/\s+/)[2])).toEqual(['put', 'append', 'replace']);
    expect((await hangar(['get', 'hist', '--bucket', 'ver', '--version', '2'])).stdout).toBe('n\n1\n2\n3\n');
    const asOf = (await client.versions('hist', { bucket: 'ver' }))[0]!.committedAt;
    expect((await hangar(['get', 'hist', '--bucket', 'ver', '--as-of', asOf])).stdout).toBe('n\n1\n2\n');
    expect(await hangar(['restore', 'hist', '2', '--bucket', 'ver'])).toMatchObject({ code: 0, stdout: 'restored ver/hist to version 2 as version 4\n' });
    expect((await hangar(['get', 'hist', '--bucket', 'ver'])).stdout).toBe('n\n1\n2\n3\n');
    expect((await hangar(['compact', 'hist', '--bucket', 'ver'])).stdout).toBe('compacted ver/hist: 2 → 1 segments, version 5\n');
    const vacuum = await hangar(['vacuum', '--bucket', 'ver', '--dry-run']);
    expect(vacuum).toMatchObject({ code: 0 });
    expect(vacuum.stdout).toMatch(/^1 frame\(s\) examined; would remove 0 version\(s\)/);
    const bad = await hangar(['get', 'hist', '--bucket', 'ver', '--version', 'x']);
    expect(bad).toMatchObject({ code: 1, stderr: "hangar: a version is a positive integer, got 'x'\n" });
  });

  it('uses HANGAR_SERVER when --server is not given', async () => {
    const listed = await hangar(['buckets'], { HANGAR_SERVER: server.location });
    expect(listed.stdout).toContain('default');
  });
});

describe('hangar errors', () => {
  it('exits non-zero with "hangar: <message>"', async () => {
    const unreachable = await hangar(['ls', '--server', 'grpc://127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^hangar: the Flight server at grpc:\/\/127\.0\.0\.1:1 is unavailable/);

    const badExtension = await hangar(['get', 'people', '-o', 'out.xlsx']);
    expect(badExtension.code).toBe(1);
    expect(badExtension.stderr).toMatch(/^hangar: cannot tell the format of "out.xlsx"/);

    const missingFile = await hangar(['put', 'nope.csv', 'x']);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toMatch(/^hangar: .*no such file/);

    const badName = await hangar(['put', 'people.csv', 'bad name']);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/^hangar: invalid frame name/);

    await writeFile(join(dir, 'ragged.csv'), 'a,b\n1,2\n3\n');
    const ragged = await hangar(['put', 'ragged.csv', 'ragged']);
    expect(ragged.code).toBe(1);
    // DuckDB's read_csv finds no dialect in which every row has the header's fields.
    expect(ragged.stderr).toMatch(/^hangar: ragged\.csv: cannot read the CSV data: Error when sniffing file ragged\.csv/);

    const badMode = await hangar(['put', 'people.csv', 'x', '--mode', 'bogus']);
    expect(badMode.code).not.toBe(0);
    expect(badMode.stderr).toContain("argument 'bogus' is invalid");
  });
});

describe('CLI helpers', () => {
  it('writes an Arrow file from batches whose dictionaries differ (as multi-segment frames have)', async () => {
    const part = (values: (string | null)[]): Table =>
      new Table({ d: vectorFromArray(values, new Dictionary(new Utf8(), new Int32())) });
    const table = part(['x', null, 'y', 'x']).concat(part(['p', 'x', null]));
    expect(table.batches.map((batch) => batch.data.children[0]!.dictionary!.length)).toEqual([2, 2]);
    const file = tableFromIPC((await encodeTable(table.slice(1), 'arrow-file')) as Uint8Array);
    expect([...file.getChild('d')!]).toEqual([null, 'y', 'x', 'p', 'x', null]);
    expect(unifyDictionaries(part(['a'])).batches[0]!.data.children[0]!.dictionary!.length).toBe(1);
  });

  it('renders a preview with names, types, the first rows and the total', () => {
    const table = sampleTable(50);
    const text = renderPreview(table, 50_000, { rows: 3 });
    const lines = text.trimEnd().split('\n').map((line) => line.trimStart());
    expect(lines[0]).toMatch(/^id\s+value\s+tag\s+at$/);
    expect(lines[1]).toMatch(/^Int64\s+Float64\s+Dictionary<Int32, Utf8>\s+Timestamp<MILLISECOND>$/);
    expect(lines[3]).toMatch(/^0\s+0\.0\s+null\s+2024-01-01T00:00:00\.000$/);
    expect(lines[4]).toMatch(/^1\s+0\.25\s+b\s+2024-01-01T00:00:01\.000$/);
    expect(lines).toHaveLength(7);
    expect(lines[6]).toBe('(3 of 50000 rows, 4 columns)');
  });
});
