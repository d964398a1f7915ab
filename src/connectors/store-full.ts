/** The one wording of "the store is full", shared by the connectors: which write failed and how to free space. */
import { StoreFullError } from '../errors.js';

/** Filesystem error codes that mean the volume (ENOSPC) or the user's disk quota (EDQUOT) is full. */
const FILESYSTEM_FULL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);

/** Whether a filesystem error means the volume or the user's disk quota is full. */
export function isFileSystemFull(error: unknown): boolean {
  return FILESYSTEM_FULL_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/**
 * The error for a write the store refused for lack of space or quota. The message says that
 * nothing of the write was stored and names the commands that free space; `hangar purge` comes
 * first because it needs no write at all (a delete commits a small tombstone, which a store
 * refusing every write may refuse too, and vacuum frees only versions past retention).
 * @param connector - the connector's name, used as the message prefix
 * @param what - what the connector was doing, e.g. `write segment X of 'prices'`
 * @param reason - what the backend said, e.g. `ENOSPC: no space left on device`
 * @param cause - the backend's own error
 */
export function storeFullError(connector: string, what: string, reason: string, cause: unknown): StoreFullError {
  return new StoreFullError(
    `[${connector}] the store is full: could not ${what} (${reason}). Nothing of this write was stored; reads keep working. ` +
      'Free space with `hangar purge NAME [--bucket B]` (removes a frame and all its versions at once), or `hangar rm NAME` ' +
      'then `hangar vacuum` (frees only versions past the retention policy), or grow the volume or quota; then retry.',
    cause,
  );
}
