/**
 * The Arrow schema parquet-wasm decodes a Parquet file to, for files that embed none
 * (`ARROW:schema`): what a reader of Spark-written Delta tables gets (storage/delta-table-store.ts).
 */
import { createRequire } from 'node:module';
import { type Schema, tableFromIPC } from 'apache-arrow';

type ParquetWasm = typeof import('parquet-wasm/node');
let parquetWasm: ParquetWasm | undefined;

/** The Arrow schema parquet-wasm reads `file` (a whole Parquet file) as. */
export function parquetArrowSchema(file: Uint8Array): Schema {
  parquetWasm ??= createRequire(import.meta.url)('parquet-wasm/node') as ParquetWasm;
  return tableFromIPC(parquetWasm.readSchema(file).intoIPCStream()).schema;
}
