/**
 * The store as the engine sees it, with every operation timed by backend, operation and outcome,
 * and every manifest commit counted by what made it: background compactions and vacuums included,
 * since they go through the same store.
 */
import type { FrameManifest } from '../../format/manifest.js';
import type { FrameStore } from '../../storage/frame-store.js';
import type { HangarMetrics } from './hangar-metrics.js';

/** Wraps a store so its asynchronous operations feed the metrics; everything else passes through. */
export function meterStore(store: FrameStore, metrics: HangarMetrics): FrameStore {
  return new Proxy(store, {
    get(target, property) {
      // Read on the store itself, and methods called on it: stores keep private fields.
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const commit = property === 'commitManifest' ? (args[1] as FrameManifest | undefined)?.operation : undefined;
        const done = metrics.startStoreOperation(target.name, property, commit);
        let result: unknown;
        try {
          result = method.apply(target, args);
        } catch (error) {
          done(error);
          throw error;
        }
        if (!(result instanceof Promise)) return result;
        return result.then(
          (settled: unknown) => {
            done();
            return settled;
          },
          (error: unknown) => {
            done(error);
            throw error;
          },
        );
      };
    },
  });
}
