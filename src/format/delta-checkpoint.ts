/**
 * Delta Lake checkpoints of a frame (PROTOCOL.md "Checkpoints"): the table state at one version as
 * a Parquet file `<version>.checkpoint.parquet` — one row per action, a struct column per action
 * type (protocol, metaData, add; remove and txn present and empty) — and the `_last_checkpoint`
 * document naming it, so Delta engines open a long history without replaying every commit.
 */
import { createRequire } from 'node:module';
import { Bool, Field, Int32, Int64, List, Map_, Struct, Table, Utf8, type Vector, tableToIPC, vectorFromArray } from 'apache-arrow';
import type { FrameManifest } from './manifest.js';
import type { FrameRef } from '../names.js';
import { deltaTableState } from './delta-commit.js';

type ParquetWasm = typeof import('parquet-wasm/node');
let parquetWasm: ParquetWasm | undefined;

const text = (name: string): Field => new Field(name, new Utf8(), true);
const long = (name: string): Field => new Field(name, new Int64(), true);
const stringMap = (name: string): Field =>
  new Field(name, new Map_<Utf8, Utf8>(new Field('key_value', new Struct<{ key: Utf8; value: Utf8 }>([new Field('key', new Utf8(), false), new Field('value', new Utf8(), true)]), false)), true);
const stringList = (name: string): Field => new Field(name, new List(new Field('element', new Utf8(), true)), true);

const PROTOCOL = new Struct([new Field('minReaderVersion', new Int32(), true), new Field('minWriterVersion', new Int32(), true), stringList('readerFeatures'), stringList('writerFeatures')]);
const META_DATA = new Struct([
  text('id'),
  text('name'),
  text('description'),
  new Field('format', new Struct([text('provider'), stringMap('options')]), true),
  text('schemaString'),
  stringList('partitionColumns'),
  stringMap('configuration'),
  long('createdTime'),
]);
const ADD = new Struct([text('path'), stringMap('partitionValues'), long('size'), long('modificationTime'), new Field('dataChange', new Bool(), true), text('stats')]);
const REMOVE = new Struct([text('path'), long('deletionTimestamp'), new Field('dataChange', new Bool(), true)]);
const TXN = new Struct([text('appId'), long('version'), long('lastUpdated')]);

/** A checkpoint and the `_last_checkpoint` document that names it. */
export interface DeltaCheckpoint {
  /** The Parquet file. */
  readonly parquet: Uint8Array;
  /** `_last_checkpoint`'s JSON: the Delta version and the number of actions. */
  readonly lastCheckpoint: Uint8Array;
}

const entries = (record: Record<string, string>): Map<string, string> => new Map(Object.entries(record));

/**
 * The checkpoint of a frame at the Hangar version of `manifest` (Delta version `manifest.version - 1`):
 * its protocol, metaData and an add for every segment it references.
 */
export function encodeDeltaCheckpoint(manifest: FrameManifest, ref: FrameRef): DeltaCheckpoint {
  const state = deltaTableState(manifest, ref);
  const adds = manifest.segments.map((segment) => state.addOf(segment, false));
  const rows = 2 + adds.length;
  const column = <T>(type: Struct, at: (row: number) => T | null): Vector<Struct> =>
    vectorFromArray(Array.from({ length: rows }, (_, row) => at(row)) as never[], type) as Vector<Struct>;
  const protocol = state.protocol;
  const metaData = state.metaData;
  const table = new Table<Record<string, Struct>>({
    txn: column(TXN, () => null),
    add: column(ADD, (row) => {
      const add = row >= 2 ? adds[row - 2]! : undefined;
      return add ? { ...add, partitionValues: entries(add.partitionValues), size: BigInt(add.size), modificationTime: BigInt(add.modificationTime) } : null;
    }),
    remove: column(REMOVE, () => null),
    metaData: column(META_DATA, (row) =>
      row === 1
        ? {
            id: metaData.id,
            name: metaData.name,
            description: null,
            format: { provider: metaData.format.provider, options: entries(metaData.format.options) },
            schemaString: metaData.schemaString,
            partitionColumns: [...metaData.partitionColumns],
            configuration: entries(metaData.configuration),
            createdTime: BigInt(metaData.createdTime),
          }
        : null,
    ),
    protocol: column(PROTOCOL, (row) =>
      row === 0
        ? {
            minReaderVersion: protocol.minReaderVersion,
            minWriterVersion: protocol.minWriterVersion,
            readerFeatures: protocol.readerFeatures ? [...protocol.readerFeatures] : null,
            writerFeatures: protocol.writerFeatures ? [...protocol.writerFeatures] : null,
          }
        : null,
    ),
  });
  parquetWasm ??= createRequire(import.meta.url)('parquet-wasm/node') as ParquetWasm;
  const parquet = parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(tableToIPC(table, 'stream')));
  const lastCheckpoint = Buffer.from(JSON.stringify({ version: manifest.version - 1, size: rows }), 'utf8');
  return { parquet, lastCheckpoint };
}
