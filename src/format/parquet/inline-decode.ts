/**
 * Decoding a few small, verified Parquet bytes on the calling thread: a tail read's last row
 * groups (~2 MiB for 100 rows) decode in well under a millisecond, less than a codec worker's
 * round trip costs (the hop, and the worker's wake-up on a busy machine, measured 1–2.5 ms).
 */
import { crc32, formatCrc32 } from '../crc32.js';
import { PARQUET_TRAILER_BYTES, footerLength } from './parquet-footer.js';
import { PageChecksumMismatch, type PlainReadOptions, readPlainParquet } from './plain-parquet-reader.js';
import type { SegmentVerification } from './parquet-worker.js';

/**
 * Bytes up to which {@link decodeInline} takes a file: about one row group of a full segment. Its
 * work (a CRC-32 pass over the pages, then the rows kept) holds the event loop ~0.3 ms per MiB.
 */
export const INLINE_DECODE_MAX_BYTES = 4 * 1024 * 1024;

/** The inline decode found the bytes do not match their checksums. */
export class InlineChecksumMismatch extends Error {
  override readonly name = 'InlineChecksumMismatch';
}

/**
 * Decodes `file` here, as a codec worker would for a partial fetch: its footer checked against
 * `verification.footerCrc32` and every page read against its own CRC (the plain reader). Undefined
 * when the file is not one this takes — larger than {@link INLINE_DECODE_MAX_BYTES}, not a partial
 * fetch with a footer CRC and page CRCs, or a form the plain reader declines: send it to the codec.
 * @throws InlineChecksumMismatch when the footer's CRC is not the one given; the plain reader's
 *   PageChecksumMismatch when a page's is not its header's
 */
export function decodeInline(file: Uint8Array, options: PlainReadOptions, verification: SegmentVerification | undefined): Uint8Array | undefined {
  if (file.byteLength > INLINE_DECODE_MAX_BYTES || !verification?.partial || verification.pageCrcs !== true || verification.footerCrc32 === undefined) return undefined;
  const footerStart = file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file);
  const actual = footerStart >= 0 ? crc32(file.subarray(footerStart)) : undefined;
  if (actual !== verification.footerCrc32) {
    throw new InlineChecksumMismatch(`the footer has CRC-32 ${actual === undefined ? 'unknown (bad length)' : formatCrc32(actual)}, ${formatCrc32(verification.footerCrc32)} was expected`);
  }
  try {
    return readPlainParquet(file, { ...options, verifyPageCrcs: true });
  } catch (error) {
    if (error instanceof PageChecksumMismatch) throw error;
    return undefined;
  }
}
