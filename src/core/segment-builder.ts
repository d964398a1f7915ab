/**
 * Cuts an incoming stream of IPC messages into segment-sized IPC streams. Each segment is a
 * complete stream on its own (schema, the dictionaries in force, batches), so it can be encoded
 * and later decoded independently. With `separateDictionaries`, a segment's dictionary batches
 * are also returned beside the stream, to be kept apart (see dictionary-layout.ts). Keeps each
 * segment's time-column statistics, read from the batches' bodies as they arrive (see ipc-time-statistics.ts).
 */
import { DataType, type Message, type Schema } from 'apache-arrow';
import { type IpcMessage, type IpcStreamPieces, ipcStreamPieces, joinInPlace, joinIpcStream } from '../format/ipc-message.js';
import { type TimeColumnLocator, type TimeStatistics, batchTimeStatistics, mergeTimeStatistics } from '../format/ipc-time-statistics.js';

/** A segment's IPC stream and the facts the manifest records about it. */
export interface BuiltSegment {
  /**
   * Schema, dictionaries and batches, encapsulated: in one buffer, or as pieces where received
   * batch bodies stay in the buffers they arrived in (see ipcStreamPieces).
   */
  readonly ipc: Uint8Array | IpcStreamPieces;
  /**
   * With separate dictionaries: the dictionary batches every batch of the segment needs, kept
   * beside the Parquet file too (they also lead `ipc`, so the writer can store their values).
   */
  readonly dictionaries: readonly IpcMessage[];
  /** Rows in the segment. */
  readonly rows: number;
  /** Arrow body bytes in the segment. */
  readonly bytes: number;
  /** Statistics of the time column; absent without a time column or when they could not be read. */
  readonly time?: TimeStatistics;
}

const EMPTY_STATISTICS: TimeStatistics = { nulls: 0 };

/** Accumulates batches and emits a segment once it holds `targetBytes`. */
export class SegmentBuilder {
  private readonly dictionaries = new Map<number, IpcMessage[]>();
  private dictionariesAtStart: IpcMessage[] = [];
  private pending: IpcMessage[] = [];
  /** The pending record batches (not dictionaries, which later segments repeat): their bodies may be handed on in place. */
  private pendingBatches = new Set<IpcMessage>();
  private pendingRows = 0;
  private pendingBytes = 0;
  /** The pending batches' time statistics; `undefined` once a batch could not be read. */
  private pendingTime: TimeStatistics | undefined = EMPTY_STATISTICS;

  /**
   * @param schemaHeader - the schema message each segment stream starts with
   * @param targetBytes - segment size at which {@link addBatch} reports fullness
   * @param separateDictionaries - keep dictionary batches out of the segment stream
   * @param timeColumn - where the time column sits in incoming batches, to keep its statistics
   */
  constructor(
    private readonly schemaHeader: Uint8Array,
    private readonly targetBytes: number,
    private readonly separateDictionaries: boolean,
    private readonly timeColumn?: TimeColumnLocator,
  ) {}

  /**
   * Whether adding this dictionary batch would replace a dictionary that pending batches use; with
   * separate dictionaries the caller must then take the segment first, since a segment has one
   * dictionary state.
   */
  replacesDictionaryInUse(id: number, isDelta: boolean): boolean {
    return this.separateDictionaries && !isDelta && this.pendingRows > 0 && this.dictionaries.has(id);
  }

  /** Adds a dictionary batch (replacing or extending the dictionary for its id). */
  addDictionary(message: IpcMessage, id: number, isDelta: boolean): void {
    const history = isDelta ? (this.dictionaries.get(id) ?? []) : [];
    history.push(message);
    this.dictionaries.set(id, history);
    if (!this.separateDictionaries) {
      this.pending.push(message);
      this.pendingBytes += message.body.byteLength;
    }
  }

  /**
   * Adds a record batch (with its header as inspectMessage decoded it); returns true when
   * the segment is full and should be taken.
   */
  addBatch(message: IpcMessage, rows: number, decoded: Message): boolean {
    if (this.timeColumn && this.pendingTime) {
      const time = batchTimeStatistics(message, this.timeColumn, decoded);
      this.pendingTime = time && mergeTimeStatistics(this.pendingTime, time);
    }
    this.pending.push(message);
    this.pendingBatches.add(message);
    this.pendingRows += rows;
    this.pendingBytes += message.body.byteLength;
    return this.pendingBytes >= this.targetBytes;
  }

  /** Takes the pending batches as a segment, or `undefined` when no rows are pending. */
  take(): BuiltSegment | undefined {
    if (this.pendingRows === 0) return undefined;
    const schema = { header: this.schemaHeader, body: new Uint8Array(0) };
    const current = [...this.dictionaries.values()].flat();
    const facts = {
      rows: this.pendingRows,
      bytes: this.pendingBytes,
      ...(this.timeColumn && this.pendingTime ? { time: this.pendingTime } : {}),
    };
    const batches = this.pendingBatches;
    const segment = this.separateDictionaries
      ? { ipc: joinSegment([schema, ...current, ...this.pending], batches), dictionaries: current, ...facts }
      : { ipc: joinSegment([schema, ...this.dictionariesAtStart, ...this.pending], batches), dictionaries: [], ...facts };
    this.dictionariesAtStart = current;
    this.pending = [];
    this.pendingBatches = new Set();
    this.pendingRows = 0;
    this.pendingBytes = 0;
    this.pendingTime = EMPTY_STATISTICS;
    return segment;
  }
}

/**
 * A segment's messages as one IPC stream: the buffer they already lie in when its producer handed
 * it over laid out so (a binary stream's roll, binary-roll-ipc.ts); else, when batches arrived in
 * buffers their producer handed over (a DoPut's messages, aligned by the transport), pieces that
 * leave those batches' bodies in place; else a joined copy.
 */
function joinSegment(messages: readonly IpcMessage[], batches: ReadonlySet<IpcMessage>): Uint8Array | IpcStreamPieces {
  return joinInPlace(messages) ?? ipcStreamPieces(messages, (message) => batches.has(message)) ?? joinIpcStream(messages);
}

/** Names of the top-level columns whose type satisfies the predicate. */
function columnsWhere(schema: Schema, predicate: (type: DataType) => boolean): string[] {
  return schema.fields.filter((field) => predicate(field.type)).map((field) => field.name);
}

/**
 * Top-level columns worth Parquet min/max statistics: the sortable keys later reads prune on
 * (timestamps, dates, times, integers, decimals). Statistics on random floats and strings cost
 * ~20 % of encode time for nothing (bench/parquet_codec.py).
 */
export function statisticsColumns(schema: Schema): string[] {
  return columnsWhere(schema, (type) =>
    DataType.isTimestamp(type) || DataType.isDate(type) || DataType.isTime(type) || DataType.isInt(type) || DataType.isDecimal(type));
}

/** Top-level columns worth Parquet dictionary encoding: strings, binaries and Arrow dictionaries. */
export function dictionaryColumns(schema: Schema): string[] {
  return columnsWhere(schema, (type) =>
    DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isBinary(type) || DataType.isLargeBinary(type) ||
    DataType.isDictionary(type));
}
