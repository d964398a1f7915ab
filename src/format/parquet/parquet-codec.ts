/**
 * Parquet segment encoding and decoding on a pool of worker threads (parquet-wasm). Segments go in
 * and out as Arrow IPC streams, so nothing is decoded into JavaScript vectors.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from '../../errors.js';
import type { IpcStreamPieces } from '../ipc-message.js';
import type { CodecReply, CodecRequest, EncodeRequest, SegmentChecksums, SegmentCompression, SegmentVerification } from './parquet-worker.js';

export type { SegmentChecksums, SegmentCompression, SegmentVerification } from './parquet-worker.js';

/** An encoded segment file and its checksums. */
export interface EncodedSegment {
  /** The Parquet file. */
  readonly bytes: Uint8Array;
  /** Its CRC-32s, computed on the worker. */
  readonly checksums: SegmentChecksums;
}

/** An encoded segment file as runs of bytes in order, for a store to write one after another. */
export interface EncodedSegmentParts {
  /** The file's bytes in order: views of buffers the caller now owns (the input's, handed back, and the worker's). */
  readonly parts: readonly Uint8Array[];
  /** The file's length. */
  readonly byteLength: number;
  /** Its CRC-32s, computed on the worker. */
  readonly checksums: SegmentChecksums;
  /**
   * For a stream given as pieces: the buffers of its pieces after the first (received bodies),
   * handed back. Some parts may view them; once the parts are written the caller may reuse them.
   */
  readonly bodyBuffers?: readonly ArrayBuffer[];
}

/**
 * A decode found the bytes do not match their recorded checksum. The codec knows no names: the
 * reader that asked reports it as a DataLossError naming the frame and segment.
 */
export class CorruptSegmentError extends Error {
  override readonly name = 'CorruptSegmentError';
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Options for encoding one segment. */
export interface EncodeOptions {
  /** Rows per Parquet row group. */
  readonly rowGroupRows: number;
  /** Top-level columns worth dictionary-encoding (strings, binaries, Arrow dictionaries). */
  readonly dictionaryColumns: readonly string[];
  /** Top-level columns that get min/max statistics (sortable keys); none for the others. */
  readonly statisticsColumns: readonly string[];
  /** Page compression; `none` also selects the fast plain writer where it covers the schema. */
  readonly compression: SegmentCompression;
  /**
   * The stream holds the stored schema and dictionary batches Hangar keeps beside the file: string
   * dictionary columns become Parquet strings where the plain writer applies, codes elsewhere.
   */
  readonly keptDictionaries?: boolean;
}

/** Options for decoding row groups of one segment. */
export interface DecodeOptions {
  /** Which row groups to decode. */
  readonly rowGroups: readonly number[];
  /** Rows per record batch in the output. */
  readonly batchRows: number;
  /** Column projection; all columns when absent. */
  readonly columns?: readonly string[];
  /** Return dictionary columns as their codes: the caller holds the kept dictionaries. */
  readonly dictionaryCodes?: boolean;
  /**
   * Leave out the first rows decoded (their pages are still verified). Only the plain reader
   * takes it: count the rows returned.
   */
  readonly skipRows?: number;
  /** Return the stream in a SharedArrayBuffer (for a reader that hands its batches to another thread). */
  readonly sharedMemory?: boolean;
}

interface Waiter {
  resolve(reply: Extract<CodecReply, { ok: true }>): void;
  reject(error: Error): void;
}

interface PooledWorker {
  readonly worker: Worker;
  readonly waiting: Map<number, Waiter>;
  /** Requests sent to it so far. */
  served: number;
}

/**
 * Requests a worker serves before it is replaced by a fresh one (once idle). Its JavaScript heap
 * is only collected when it reaches V8's old-generation limit, which `npm start`'s
 * `--initial-old-space-size=256` raises to 256 MB for every isolate (so puts run without
 * collections, docs/performance.md#v8-flags): a worker's garbage then piled up for hours (in the
 * soak a codec worker's heap grew 9.9 → 21.7 MB in 5.5 minutes without one full collection) and a
 * long-running server's RSS with it (docs/reliability.md#long-running-stability-soak). Retiring
 * a worker frees its heap at once; a fresh one costs ~190 ms of CPU (loading parquet-wasm and
 * Arrow), ~0.05 ms a request at this count.
 */
const REQUESTS_PER_WORKER = 4000;

/**
 * The compiled worker module. Beside this one in dist/; when this module runs from its TypeScript
 * source (vitest), the worker still has to be JavaScript, so dist's build is used (`npm test`
 * builds first).
 */
function workerUrl(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./parquet-worker.js', here);
  const compiled = new URL('./parquet-worker.js', here.replace('/src/format/parquet/', '/dist/format/parquet/'));
  if (!existsSync(compiled)) throw new Error(`the Parquet codec worker is not built (${compiled.pathname}): run \`npm run build\` first`);
  return compiled;
}

/** A fixed-size pool of codec workers; each request goes to the least busy one. */
export class ParquetCodec {
  private readonly workers: PooledWorker[] = [];
  private nextId = 1;
  private closed = false;
  private recycled = 0;

  /**
   * @param size - worker threads; defaults to the machine's parallelism, at most 4
   * @param requestsPerWorker - requests a worker serves before a fresh one replaces it (see {@link REQUESTS_PER_WORKER})
   */
  constructor(
    private readonly size = Math.min(4, Math.max(1, availableParallelism())),
    private readonly requestsPerWorker = REQUESTS_PER_WORKER,
  ) {}

  private spawn(): PooledWorker {
    const pooled: PooledWorker = { worker: new Worker(workerUrl()), waiting: new Map(), served: 0 };
    pooled.worker.unref();
    pooled.worker.on('message', (reply: CodecReply) => {
      const waiter = pooled.waiting.get(reply.id);
      if (!waiter) return;
      pooled.waiting.delete(reply.id);
      if (pooled.waiting.size === 0) pooled.worker.unref();
      if (reply.ok) waiter.resolve(reply);
      else if (reply.damaged) waiter.reject(new CorruptSegmentError(reply.message));
      else waiter.reject(new InvalidArgumentError(`Parquet codec failed: ${reply.message}`));
    });
    // A crashed worker (a wasm trap, out of memory) fails its own requests and leaves the pool;
    // the next request spawns a fresh one.
    const retire = (why: string): void => {
      const index = this.workers.indexOf(pooled);
      if (index >= 0) this.workers.splice(index, 1);
      for (const waiter of pooled.waiting.values()) waiter.reject(new InvalidArgumentError(`Parquet codec crashed: ${why}`));
      pooled.waiting.clear();
    };
    pooled.worker.on('error', (error) => retire(error.message));
    pooled.worker.on('exit', (code) => retire(`worker exited with code ${code}`));
    return pooled;
  }

  private pick(): PooledWorker {
    if (this.closed) throw new Error('ParquetCodec is closed');
    this.recycleWorn();
    const leastBusy = this.workers.reduce<PooledWorker | undefined>(
      (best, pooled) => (!best || pooled.waiting.size < best.waiting.size ? pooled : best),
      undefined,
    );
    // Start another worker only when every existing one is busy.
    if (leastBusy && (leastBusy.waiting.size === 0 || this.workers.length >= this.size)) return leastBusy;
    const fresh = this.spawn();
    this.workers.push(fresh);
    return fresh;
  }

  /** Retires idle workers that have served their share of requests (see {@link REQUESTS_PER_WORKER}). */
  private recycleWorn(): void {
    for (const pooled of this.workers.filter((candidate) => candidate.served >= this.requestsPerWorker && candidate.waiting.size === 0)) {
      this.workers.splice(this.workers.indexOf(pooled), 1);
      this.recycled++;
      void pooled.worker.terminate();
    }
  }

  /** How many workers were retired after serving their share of requests (for tests and metrics). */
  get recycledWorkers(): number {
    return this.recycled;
  }

  private call(message: DistributiveOmit<CodecRequest, 'id'>, transfer: ArrayBuffer[]): Promise<Extract<CodecReply, { ok: true }>> {
    const pooled = this.pick();
    pooled.served++;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      pooled.waiting.set(id, { resolve, reject });
      pooled.worker.ref();
      pooled.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /**
   * Encodes an IPC stream (schema, dictionaries, batches) as one Parquet file. When `ipc` owns its
   * whole ArrayBuffer the buffer is transferred: the caller must not use `ipc` afterwards.
   */
  async encode(ipc: Uint8Array, options: EncodeOptions): Promise<Uint8Array> {
    return (await this.encodeSegment(ipc, options)).bytes;
  }

  /** As {@link encode}, also returning the file's checksums (computed on the worker). */
  async encodeSegment(ipc: Uint8Array, options: EncodeOptions): Promise<EncodedSegment> {
    const buffer = ownBuffer(ipc);
    const reply = await this.call({ op: 'encode', ipc: buffer, ...options }, [buffer]);
    return { bytes: new Uint8Array(reply.bytes), checksums: reply.checksums! };
  }

  /**
   * As {@link encodeSegment}, returning the file as runs: where the plain writer encodes it, the
   * fixed-width values are views of `ipc`'s own bytes (handed back by the worker), so neither the
   * worker nor the caller copies them into a joined file. `ipc`'s buffer is always transferred
   * when it owns it (the caller must not use `ipc` afterwards; the runs may view it). Given as
   * pieces, every piece's buffer is transferred whole and handed back, and the worker reads the
   * batches' columns where they lie (aligned bodies need no copy).
   */
  async encodeSegmentParts(ipc: Uint8Array | IpcStreamPieces, options: EncodeOptions): Promise<EncodedSegmentParts> {
    let request: DistributiveOmit<EncodeRequest, 'id'>;
    let transfer: ArrayBuffer[];
    if (ipc instanceof Uint8Array) {
      const buffer = ownBuffer(ipc);
      request = { op: 'encode', ipc: buffer, ...options, asRuns: true };
      transfer = [buffer];
    } else {
      // The stream in pieces: every piece's buffer is the caller's to give, and goes over as it is.
      const buffers: ArrayBuffer[] = [];
      const pieces: number[] = [];
      for (const piece of ipc.pieces) {
        const buffer = piece.buffer as ArrayBuffer;
        let index = buffers.indexOf(buffer);
        if (index < 0) index = buffers.push(buffer) - 1;
        pieces.push(index, piece.byteOffset, piece.byteLength);
      }
      request = { op: 'encode', ipc: buffers[0]!, moreInputs: buffers.slice(1), pieces, ...options, asRuns: true };
      transfer = buffers;
    }
    const reply = await this.call(request, transfer);
    const copied = new Uint8Array(reply.bytes);
    const { runs, input, pages, moreInputs } = reply;
    const bodies = moreInputs && moreInputs.length > 0 ? { bodyBuffers: moreInputs } : {};
    if (!runs || !input) return { parts: [copied], byteLength: copied.byteLength, checksums: reply.checksums!, ...bodies };
    const parts: Uint8Array[] = [];
    let byteLength = 0;
    for (let at = 0; at < runs.length; at += 3) {
      const [source, offset, length] = [runs[at]!, runs[at + 1]!, runs[at + 2]!];
      parts.push(
        source === 0 ? new Uint8Array(input, offset, length)
          : source === 1 ? copied.subarray(offset, offset + length)
          : source < 0 ? new Uint8Array(moreInputs![-1 - source]!, offset, length)
          : new Uint8Array(pages![source - 2]!, offset, length),
      );
      byteLength += length;
    }
    return { parts, byteLength, checksums: reply.checksums!, ...bodies };
  }

  /**
   * Decodes row groups of a Parquet file into one IPC stream. With `handOver`, the caller gives
   * up `parquet`: its buffer is transferred to the worker (no copy) and the worker transfers it
   * back with the result, so it is freed by this thread's collector; a worker that allocates little
   * would otherwise keep transferred buffers alive (measured: ~400 MB retained per 440 MB get).
   * Without `handOver` (or when `parquet` does not span its whole buffer) the bytes are copied.
   * With `verify`, the bytes are checked against the segment's recorded checksums first.
   * @throws CorruptSegmentError when they do not match; InvalidArgumentError when the file cannot
   *   be decoded (or, for partial bytes, cannot be verified)
   */
  async decode(parquet: Uint8Array, options: DecodeOptions, handOver = false, verify?: SegmentVerification): Promise<Uint8Array> {
    const transferable = handOver && ownsWholeBuffer(parquet);
    const request = { op: 'decode' as const, parquet, returnInput: transferable, ...options, ...(verify ? { verify } : {}) };
    const reply = await this.call(request, transferable ? [parquet.buffer as ArrayBuffer] : []);
    return new Uint8Array(reply.bytes);
  }

  /** Stops every worker; pending requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.splice(0).map((pooled) => pooled.worker.terminate()));
  }
}

/** Whether `bytes` spans all of an ArrayBuffer (not shared), which can then be transferred. */
function ownsWholeBuffer(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

/** Returns an ArrayBuffer holding exactly `bytes`, reusing it when `bytes` spans all of it. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return ownsWholeBuffer(bytes) ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
}
