// Byte-level fuzzing of the file-format readers added with the Delta layout and row-group splicing:
// a Delta commit log written by another engine (format/delta-log-replay.ts, what a `delta+` mount
// reads), a segment's footer read for splicing (format/parquet/row-group-splice.ts), the plain
// reader's dictionary pages (category strings), an IPC stream's framing (format/ipc-message.ts, which
// reads the Arrow schema stored in a foreign Parquet file) and a segment's recorded exact
// dictionaries (format/parquet/exact-dictionaries.ts, base64 IPC inside its metadata). Every mutated
// input must be accepted or refused with the reader's own error — never another exception, never a
// hang: each case is timed, and the whole run is bounded by the test's timeout.
import { Dictionary, Int32, Table, Utf8, makeData, makeVector, tableToIPC, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { HangarError, InvalidArgumentError } from '../../src/errors.js';
import { applyDeltaCommitFile, deltaSnapshotOf, newDeltaReplay } from '../../src/format/delta-log-replay.js';
import { inspectMessage, splitIpcStream } from '../../src/format/ipc-message.js';
import { encodeFlightData, flightDataBodyOffset } from '../../src/flight/flight-data.js';
import { EXACT_DICTIONARIES_KEY, restoreDictionaries } from '../../src/format/parquet/exact-dictionaries.js';
import { ParquetFooterError } from '../../src/format/parquet/parquet-footer.js';
import { PageChecksumMismatch, readPlainParquet } from '../../src/format/parquet/plain-parquet-reader.js';
import { PlainParquetUnsupported } from '../../src/format/parquet/plain-parquet-writer.js';
import { SpliceDeclined, readSpliceLayout } from '../../src/format/parquet/row-group-splice.js';
import { FuzzRandom } from '../../src/testing/fuzz-random.js';
import { mutateBytes } from '../../src/testing/protobuf-fuzz-encoding.js';
import { coveredTable, plain } from '../unit/parquet-fixtures.js';

const CASES = 5_000;
/** Generous for one case of a few KB on a loaded 2-core machine; a hang or a quadratic blow-up exceeds it. */
const CASE_LIMIT_MS = 1_000;

/** Runs `cases` mutations of `seedInput` through `read`; returns how many were accepted. */
function fuzz(seedInput: Uint8Array, cases: number, read: (bytes: Uint8Array) => void, refusal: (error: unknown) => boolean): number {
  const random = new FuzzRandom(23);
  let accepted = 0;
  for (let i = 0; i < cases; i++) {
    // One to three stacked mutations, so damage past the first field is reached too.
    let bytes = seedInput;
    for (let n = random.between(1, 3); n > 0; n--) bytes = mutateBytes(random, bytes, []);
    const started = performance.now();
    try {
      read(bytes);
      accepted++;
    } catch (error) {
      if (!refusal(error)) throw new Error(`case ${i}: ${String(error)} is not the reader's own refusal`, { cause: error });
    }
    expect(performance.now() - started).toBeLessThan(CASE_LIMIT_MS);
  }
  return accepted;
}

const action = (value: object): string => JSON.stringify(value);
const COMMIT = [
  action({ commitInfo: { timestamp: 1_700_000_000_000, operation: 'WRITE' } }),
  action({ protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['timestampNtz'], writerFeatures: ['timestampNtz'] } }),
  action({
    metaData: {
      id: 'id', format: { provider: 'parquet', options: {} }, partitionColumns: [], configuration: {}, createdTime: 1,
      schemaString: JSON.stringify({ type: 'struct', fields: [{ name: 'x', type: 'long', nullable: true, metadata: {} }] }),
    },
  }),
  action({ add: { path: 'part-0.parquet', size: 100, partitionValues: {}, modificationTime: 1, dataChange: true, stats: '{"numRecords":3}' } }),
  action({ remove: { path: 'part-9.parquet', deletionTimestamp: 2, dataChange: true } }),
].join('\n');

describe('byte-level fuzzing of the format readers', () => {
  it(`a Delta commit log: ${CASES} mutations are replayed or refused as damaged, each in bounded time`, { timeout: 120_000 }, () => {
    const accepted = fuzz(
      Buffer.from(COMMIT),
      CASES,
      (bytes) => {
        const state = newDeltaReplay();
        applyDeltaCommitFile(state, Buffer.from(bytes).toString('utf8'), 0, 'fuzzed');
        deltaSnapshotOf(state, 'fuzzed');
      },
      (error) => error instanceof HangarError,
    );
    // Both outcomes occur: the fuzz neither only breaks the JSON nor only leaves it intact.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(CASES);
  });

  it(`a segment footer read for splicing: ${CASES} mutations are read or declined, each in bounded time`, { timeout: 120_000 }, () => {
    const file = plain(coveredTable(2_000, 7), { rowGroupRows: 500, statisticsColumns: [] });
    const accepted = fuzz(file, CASES, (bytes) => void readSpliceLayout(bytes, undefined), (error) => error instanceof SpliceDeclined);
    expect(accepted).toBeLessThan(CASES);
  });

  it(`a segment with dictionary pages (category strings), read with page CRCs off: ${CASES} mutations are read or refused, each in bounded time`, { timeout: 120_000 }, () => {
    const dictionary = vectorFromArray(['a', 'bb', 'ccc'], new Utf8());
    const indices = Int32Array.from({ length: 1_500 }, (_, i) => i % 3);
    const category = makeVector(makeData({ type: new Dictionary(new Utf8(), new Int32()), length: 1_500, data: indices, dictionary }));
    const file = plain(new Table({ category }), { rowGroupRows: 500 });
    const read = (bytes: Uint8Array): void => void readPlainParquet(bytes, { rowGroups: [0, 1, 2], batchRows: 700, dictionaryCodes: true, verifyPageCrcs: false });
    const refused = (error: unknown): boolean =>
      error instanceof PlainParquetUnsupported || error instanceof ParquetFooterError || error instanceof PageChecksumMismatch || error instanceof HangarError;
    const accepted = fuzz(file, CASES, read, refused);
    expect(accepted).toBeLessThan(CASES);
  });

  it(`an IPC stream's framing and headers: ${CASES} mutations are split or refused, each in bounded time`, { timeout: 120_000 }, () => {
    const stream = tableToIPC(coveredTable(50, 3), 'stream');
    const read = (bytes: Uint8Array): void => splitIpcStream(bytes).forEach((message) => void inspectMessage(message));
    const accepted = fuzz(stream, CASES, read, (error) => error instanceof InvalidArgumentError);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(CASES);
  });

  it(`a FlightData's leading bytes (where DoPut places its body): ${CASES} mutations give an offset within them or none, each in bounded time`, { timeout: 120_000 }, () => {
    const [schema, batch] = splitIpcStream(tableToIPC(coveredTable(50, 3), 'stream'));
    const encoded = encodeFlightData({ dataHeader: batch!.header, dataBody: batch!.body, appMetadata: schema!.header });
    const lead = encoded.subarray(0, flightDataBodyOffset(encoded)! + 16);
    const accepted = fuzz(lead, CASES, (bytes) => {
      const offset = flightDataBodyOffset(bytes);
      if (offset !== undefined && !(Number.isSafeInteger(offset) && offset >= 0 && offset <= bytes.byteLength)) throw new Error(`offset ${offset} outside ${bytes.byteLength} bytes`);
    }, () => false);
    expect(accepted).toBe(CASES);
  });

  describe(`a segment's ${EXACT_DICTIONARIES_KEY} metadata`, () => {
    const dictionary = vectorFromArray(['a', 'bb', 'ccc'], new Utf8());
    const side = makeVector(makeData({ type: new Dictionary(new Utf8(), new Int32()), length: 6, data: Int32Array.from([2, 1, 0, 2, 1, 0]), dictionary }));
    const decoded = tableToIPC(new Table({ side }), 'stream');
    const values = tableToIPC(new Table({ values: dictionary }), 'stream');
    const recorded = (base64: string): string => JSON.stringify([{ column: 'side', path: [], values: base64 }]);
    const refused = (error: unknown): boolean => error instanceof Error && /hangar\.dictionaries metadata|recorded dictionary|may be damaged/.test(error.message);

    it(`${CASES} mutations of its JSON text are restored or refused, each in bounded time`, { timeout: 120_000 }, () => {
      const text = Buffer.from(recorded(Buffer.from(values).toString('base64')));
      const accepted = fuzz(text, CASES, (bytes) => void restoreDictionaries(decoded, Buffer.from(bytes).toString('utf8')), refused);
      expect(accepted).toBeLessThan(CASES);
    });

    it(`${CASES} mutations of a recorded dictionary's IPC bytes are restored or refused, each in bounded time`, { timeout: 120_000 }, () => {
      const accepted = fuzz(values, CASES, (bytes) => void restoreDictionaries(decoded, recorded(Buffer.from(bytes).toString('base64'))), refused);
      expect(accepted).toBeGreaterThan(0);
      expect(accepted).toBeLessThan(CASES);
    });
  });
});
