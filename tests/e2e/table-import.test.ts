// CSV and Parquet files read through DuckDB (core/table-import.ts), as the HTTP upload and
// `hangar put` read them: sniffed types, RFC 4180 quoting, empty strings versus nulls, errors.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Field, Int32, Schema, type Table, Utf8, tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinIpcStream } from '../../src/format/ipc-message.js';
import { type ImportOptions, importTableFile } from '../../src/core/table-import.js';

let dir: string;

async function read(text: string, options: ImportOptions = {}): Promise<Table> {
  const path = join(dir, `t${Math.random().toString(36).slice(2)}.csv`);
  await writeFile(path, text);
  const messages = [];
  for await (const message of importTableFile(path, 'csv', options)) messages.push(message);
  return tableFromIPC(joinIpcStream(messages));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hangar-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('importTableFile (CSV)', () => {
  it('sniffs types and reads RFC 4180 quoting: a quoted empty field is "", an empty one null', async () => {
    const table = await read('id,name,score,ok,note\n1,alice,1.5,true,"hello, world"\n2,bob,,false,""\n3,"car""l",2.25,TRUE,\n4,"multi\nline",-3e2,false,plain\n');
    expect(table.schema.fields.map((field) => `${field.name}:${String(field.type)}`)).toEqual(['id:Int64', 'name:Utf8', 'score:Float64', 'ok:Bool', 'note:Utf8']);
    expect([...table.getChild('name')!]).toEqual(['alice', 'bob', 'car"l', 'multi\nline']);
    expect([...table.getChild('score')!]).toEqual([1.5, null, 2.25, -300]);
    expect([...table.getChild('note')!]).toEqual(['hello, world', '', null, 'plain']);
  });

  it('finds other delimiters, dates and timestamps, and reads columns as a target schema says', async () => {
    const typed = await read('d|t|v\n2026-03-01|2026-03-01 10:00:00|1\n2026-03-02|2026-03-02 11:30:00.5|2\n');
    expect(typed.schema.fields.map((field) => String(field.type))).toEqual(['Date32<DAY>', 'Timestamp<MICROSECOND>', 'Int64']);
    const target = new Schema([new Field('v', new Int32()), new Field('d', new Utf8())]);
    const cast = await read('d|t|v\n2026-03-01|x|1\n', { targetSchema: target });
    expect(cast.schema.fields.map((field) => `${field.name}:${String(field.type)}`)).toEqual(['d:Utf8', 't:Utf8', 'v:Int32']);
  });

  it('refuses rows whose field counts differ instead of reading them as one column, naming the file as told', async () => {
    await expect(read('a,b\n1,2\n3\n', { displayName: 'upload.csv' })).rejects.toThrow(/^cannot read the CSV data: Error when sniffing file upload\.csv/);
  });
});
