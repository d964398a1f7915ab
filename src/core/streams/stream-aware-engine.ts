/**
 * The engine as servers hand it out when streams exist: a read, stat, version listing or query
 * first rolls the committed stream entries into segments (so it sees every acknowledged entry, the
 * log's tail included); an ordinary put to a stream's frame is refused (its IDs are the stream's);
 * deleting or purging a stream's frame, or its bucket, drops the stream too. Wrap it inside the
 * authorised view, so permissions are checked before any of this runs.
 */
import type { HangarEngine } from '../engine.js';
import { FailedPreconditionError, NotFoundError } from '../../errors.js';
import { type FrameRef, describeFrame } from '../../names.js';
import type { StreamService } from './stream-service.js';

const READS = new Set(['read', 'stat', 'versions']);
const QUERIES = new Set(['query', 'querySchema', 'describeQuery', 'list']);
const DROPS = new Set(['delete', 'purge']);

/** Whether read options pin a past version (nothing to roll for those). */
function pinsVersion(options: unknown): boolean {
  const selector = options as { version?: number; asOf?: Date } | undefined;
  return selector?.version !== undefined || selector?.asOf !== undefined;
}

/** Wraps `engine` so its reads see streams whole and its writes respect them. */
export function streamAwareEngine(engine: HangarEngine, streams: StreamService): HangarEngine {
  return new Proxy(engine, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      const name = String(property);
      if (READS.has(name)) {
        return async (ref: FrameRef, options?: unknown, ...rest: unknown[]) => {
          if (!pinsVersion(options)) await streams.settle(ref);
          return method.call(target, ref, options, ...rest);
        };
      }
      if (QUERIES.has(name)) {
        return async (...args: unknown[]) => {
          await streams.settleAll();
          return method.apply(target, args);
        };
      }
      if (name === 'put') {
        return async (ref: FrameRef, ...rest: unknown[]) => {
          if (streams.isStream(ref)) {
            throw new FailedPreconditionError(`${describeFrame(ref)} is a stream: push entries to it (DoPut with "stream": true) instead of putting the frame`);
          }
          return method.call(target, ref, ...rest);
        };
      }
      if (name === 'deleteBucket') {
        return async (bucket: string, ...rest: unknown[]) => {
          // Unrolled entries count as frames: an "error" delete refuses a bucket with a live stream.
          await streams.settleAll();
          const result = await method.call(target, bucket, ...rest);
          await streams.dropBucket(bucket);
          return result;
        };
      }
      if (DROPS.has(name)) {
        return async (ref: FrameRef, ...rest: unknown[]) => {
          const wasStream = streams.isStream(ref);
          await streams.drop(ref);
          try {
            return await method.call(target, ref, ...rest);
          } catch (error) {
            // A stream dropped before its first roll had no frame yet.
            if (wasStream && error instanceof NotFoundError && name === 'delete') return undefined;
            throw error;
          }
        };
      }
      return method.bind(target);
    },
  });
}
