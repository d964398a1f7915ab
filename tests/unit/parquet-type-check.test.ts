// The plain Parquet reader checks each column's Parquet annotations against the Arrow type it would
// produce from the embedded schema, and declines on any disagreement so parquet-wasm (which converts)
// decodes the file. Fixtures are written by real pyarrow 17 (the interop venv), with compression and
// dictionaries off so that only the type check stands between the plain reader and a misread.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Field, Int64, Schema, type Table, type Vector, tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readParquetFooter } from '../../src/format/parquet/parquet-footer.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { annotationDisagreement } from '../../src/format/parquet/parquet-type-check.js';
import { readPlainParquet } from '../../src/format/parquet/plain-parquet-reader.js';
import { PlainParquetUnsupported, plainParquetLayout } from '../../src/format/parquet/plain-parquet-writer.js';
import { coveredTable, plain, rowsOf } from './parquet-fixtures.js';

const VENV_PYTHON = join(import.meta.dirname, '../../.venv-interop/bin/python');

/** Writes every fixture with pyarrow into `directory`. */
const FIXTURES = `
import sys, base64, datetime, decimal
import pyarrow as pa, pyarrow.parquet as pq
out = sys.argv[1]
plain = dict(compression="none", use_dictionary=False, data_page_version="1.0", write_statistics=False)

# timestamp[ns] in format 2.4: pyarrow stores microseconds (INT64, TIMESTAMP(MICROS)) but embeds ns.
ns = pa.table({"ts": pa.array([1_000_000_000_123_456_000, 1_700_000_000_000_001_000, None, -86_400_000_000_000], pa.timestamp("ns")),
               "x": pa.array([1.5, 2.5, None, -4.0])})
pq.write_table(ns, f"{out}/ns-as-us.parquet", version="2.4", **plain)

# Every type the plain reader covers, in format 2.6 (annotations agree): it must still read them itself.
n = 300
t = pa.table({
  "i8": pa.array([(i * 37) % 256 - 128 if i % 7 else None for i in range(n)], pa.int8()),
  "i16": pa.array([(i * 997) % 65536 - 32768 for i in range(n)], pa.int16()),
  "i32": pa.array([i * 7919 - 10**9 for i in range(n)], pa.int32()),
  "i64": pa.array([i * 10**12 - 3 for i in range(n)], pa.int64()),
  "u8": pa.array([i % 256 for i in range(n)], pa.uint8()),
  "u16": pa.array([(i * 331) % 65536 for i in range(n)], pa.uint16()),
  "u32": pa.array([(i * 2**22) % 2**32 for i in range(n)], pa.uint32()),
  "u64": pa.array([i * 2**50 for i in range(n)], pa.uint64()),
  "f32": pa.array([i / 8 for i in range(n)], pa.float32()),
  "f64": pa.array([i / 3 if i % 5 else None for i in range(n)], pa.float64()),
  "flag": pa.array([i % 3 == 0 for i in range(n)]),
  "day": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=i) for i in range(n)], pa.date32()),
  "ms": pa.array([1_700_000_000_000 + i for i in range(n)], pa.timestamp("ms")),
  "us_utc": pa.array([1_700_000_000_000_000 + i for i in range(n)], pa.timestamp("us", tz="UTC")),
  "ns_ny": pa.array([1_700_000_000_000_000_000 + i * 7 for i in range(n)], pa.timestamp("ns", tz="America/New_York")),
  "text": pa.array([f"v{i}-" + "é" * (i % 4) if i % 9 else None for i in range(n)]),
  "large": pa.array([f"L{i}" for i in range(n)], pa.large_string()),
  "blob": pa.array([bytes(range(i % 6)) for i in range(n)], pa.binary()),
}).replace_schema_metadata(None)
pq.write_table(t, f"{out}/covered.parquet", version="2.6", **plain)

# The embedded schema replaced by one that disagrees with the Parquet types: pyarrow writes the
# claimed one as metadata under a key of the same length, and the two keys are swapped in place
# (so every offset in the file stays right).
def with_claimed_schema(table, claimed, path):
  encoded = base64.b64encode(claimed.serialize().to_pybytes())
  pq.write_table(table.replace_schema_metadata({b"ARROW:schemZ": encoded}), path, version="2.6", **plain)
  data = open(path, "rb").read()
  assert data.count(b"ARROW:schemZ") == 1 and data.count(b"ARROW:schema") == 1
  data = data.replace(b"ARROW:schema", b"ARROW:schemY").replace(b"ARROW:schemZ", b"ARROW:schema")
  open(path, "wb").write(data)

with_claimed_schema(pa.table({"v": pa.array([1, -2, 300], pa.int16())}), pa.schema([pa.field("v", pa.int8())]), f"{out}/int16-claims-int8.parquet")
with_claimed_schema(pa.table({"v": pa.array([1, 2, 3], pa.uint32())}), pa.schema([pa.field("v", pa.int32())]), f"{out}/uint32-claims-int32.parquet")
with_claimed_schema(pa.table({"v": pa.array([datetime.time(1, 2, 3, 4), None], pa.time64("us"))}), pa.schema([pa.field("v", pa.int64())]), f"{out}/time-claims-int64.parquet")
with_claimed_schema(pa.table({"v": pa.array([1, 2], pa.timestamp("ms", tz="UTC"))}), pa.schema([pa.field("v", pa.timestamp("ms"))]), f"{out}/utc-claims-local.parquet")
with_claimed_schema(pa.table({"v": pa.array([decimal.Decimal("12.34"), decimal.Decimal("-0.05")], pa.decimal128(9, 2))}), pa.schema([pa.field("v", pa.int32())]), f"{out}/decimal-claims-int32.parquet")
with_claimed_schema(pa.table({"v": pa.array([b"ab", b"c"], pa.binary())}), pa.schema([pa.field("v", pa.string())]), f"{out}/binary-claims-string.parquet")
with_claimed_schema(pa.table({"v": pa.array([18000, 18001], pa.int32())}), pa.schema([pa.field("v", pa.date32())]), f"{out}/int32-claims-date.parquet")
with_claimed_schema(pa.table({"v": pa.array([1.0, None], pa.float64())}), pa.schema([pa.field("v", pa.float64(), nullable=False)]), f"{out}/optional-claims-required.parquet")
`;

let directory: string;
const codec = new ParquetCodec(1);

beforeAll(async () => {
  if (!existsSync(VENV_PYTHON)) throw new Error(`pyarrow's venv is missing (${VENV_PYTHON}): run \`bash tests/interop/setup-venv.sh\``);
  directory = await mkdtemp(join(tmpdir(), 'hangar-typecheck-'));
  const run = spawnSync(VENV_PYTHON, ['-c', FIXTURES, directory], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`pyarrow could not write the fixtures: ${run.stderr}`);
});

afterAll(async () => {
  await codec.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function fixture(name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(join(directory, name)));
}

/** A column's stored values as they lie (timestamps and times unconverted), null where not valid. */
function rawValues(column: Vector): unknown[] {
  const data = column.data[0]!;
  return Array.from({ length: column.length }, (_, i) => (column.isValid(i) ? (data.values as ArrayLike<unknown>)[i] : null));
}

/** What the engine's codec decodes (plain reader, or parquet-wasm when the plain reader declines). */
async function decode(file: Uint8Array): Promise<Table> {
  return tableFromIPC(await codec.decode(file, { rowGroups: [0], batchRows: 1000 }));
}

describe('Parquet annotations against the embedded Arrow schema', () => {
  it('reads pyarrow’s timestamp[ns] stored as microseconds as the nanoseconds its Arrow schema says, exactly', async () => {
    const file = await fixture('ns-as-us.parquet');
    // The file says microseconds, its embedded schema nanoseconds: what Hangar's writer does with
    // whole microseconds too. The values are multiplied back.
    expect(readParquetFooter(file).columns[0]!.logicalType).toBe('TIMESTAMP(MICROS,local)');
    for (const table of [tableFromIPC(readPlainParquet(file, { rowGroups: [0], batchRows: 1000 })), await decode(file)]) {
      const ts = table.getChild('ts')!;
      expect(String(ts.type)).toBe('Timestamp<NANOSECOND>');
      expect(rawValues(ts)).toEqual([1_000_000_000_123_456_000n, 1_700_000_000_000_001_000n, null, -86_400_000_000_000n]);
      expect([...table.getChild('x')!]).toEqual([1.5, 2.5, null, -4]);
    }
  });

  it('still reads pyarrow’s file of every covered type itself, values exact', async () => {
    const file = await fixture('covered.parquet');
    const metadata = readParquetFooter(file);
    expect(Object.fromEntries(metadata.columns.map((column) => [column.name, column.logicalType ?? null]))).toMatchObject({
      i8: 'INTEGER(8,signed)',
      u64: 'INTEGER(64,unsigned)',
      day: 'DATE',
      ms: 'TIMESTAMP(MILLIS,local)',
      us_utc: 'TIMESTAMP(MICROS,utc)',
      ns_ny: 'TIMESTAMP(NANOS,utc)',
      text: 'STRING',
      blob: null,
    });
    const plainTable = tableFromIPC(readPlainParquet(file, { rowGroups: [0], batchRows: 1000 }));
    const viaCodec = await decode(file);
    expect(rowsOf(plainTable)).toEqual(rowsOf(viaCodec));
    expect(plainTable.schema.fields.map((f) => String(f.type))).toEqual(viaCodec.schema.fields.map((f) => String(f.type)));
    expect(rawValues(plainTable.getChild('ns_ny')!)[1]).toBe(1_700_000_000_000_000_007n);
    expect(rawValues(plainTable.getChild('us_utc')!)[2]).toBe(1_700_000_000_000_002n);
    expect(plainTable.getChild('u64')!.get(299)).toBe(299n * 2n ** 50n);
    expect(plainTable.getChild('i8')!.get(0)).toBeNull();
    expect(plainTable.getChild('i8')!.get(1)).toBe(37 - 128);
    expect(plainTable.getChild('text')!.get(7)).toBe('v7-ééé');
    expect(plainTable.getChild('text')!.get(9)).toBeNull();
  });

  it.each([
    ['int16-claims-int8.parquet', /INTEGER\(16,signed\).* does not match the Arrow schema's Int8/, [1, -2, 300], 'Int16'],
    ['uint32-claims-int32.parquet', /INTEGER\(32,unsigned\).* does not match the Arrow schema's Int32/, [1, 2, 3], 'Uint32'],
    ['time-claims-int64.parquet', /TIME\(MICROS,utc\).* does not match the Arrow schema's Int64/, [3_723_000_004n, null], 'Time64<MICROSECOND>'],
    ['utc-claims-local.parquet', /TIMESTAMP\(MILLIS,utc\).* does not match the Arrow schema's Timestamp<MILLISECOND>/, [1n, 2n], 'Timestamp<MILLISECOND, UTC>'],
    ['decimal-claims-int32.parquet', /DECIMAL\(9,2\).* does not match the Arrow schema's Int32/, undefined, 'Decimal[9e+2]'],
    ['binary-claims-string.parquet', /physical type 6 does not match the Arrow schema's Utf8/, undefined, 'Utf8'],
    ['int32-claims-date.parquet', /physical type 1 does not match the Arrow schema's Date32<DAY>/, [18000, 18001], 'Int32'],
    ['optional-claims-required.parquet', /repetition 1 does not match the Arrow schema's Float64 not null/, [1, null], 'Float64'],
  ] as const)('declines %s and parquet-wasm reads the Parquet types', async (name, why, values, type) => {
    const file = await fixture(name);
    expect(() => readPlainParquet(file, { rowGroups: [0], batchRows: 100 })).toThrow(PlainParquetUnsupported);
    expect(() => readPlainParquet(file, { rowGroups: [0], batchRows: 100 })).toThrow(why);
    const column = (await decode(file)).getChild('v')!;
    expect(String(column.type)).toBe(type);
    if (values) expect(rawValues(column)).toEqual(values);
  });

  it('agrees with the plain writer’s own annotations for every covered type', () => {
    const table = coveredTable(10, 3);
    const metadata = readParquetFooter(plain(table));
    const layouts = plainParquetLayout(table.schema)!;
    table.schema.fields.forEach((field, i) => expect(annotationDisagreement(metadata.columns[i]!, field, layouts[i]!)).toBeUndefined());
    // And a bare INT64 column never passes for a timestamp.
    const ts = new Field('t', new Int64(), true);
    const layout = plainParquetLayout(new Schema([ts]))![0]!;
    expect(annotationDisagreement({ name: 't', children: 0, physicalType: 2, repetition: 1, logicalType: 'TIMESTAMP(NANOS,utc)' }, ts, layout)).toMatch(/does not match/);
  });
});
