/**
 * The composition root: the only place tsyringe is used. Tokens are symbols; every registration is
 * an explicit factory or instance (no decorators), and each server (and each test) gets its own
 * child container.
 */
import { createRequire } from 'node:module';
import type * as Tsyringe from 'tsyringe';
import type { DependencyContainer } from 'tsyringe';
import type { FrameStore } from '../storage/frame-store.js';
import { type EngineOptions, HangarEngine } from '../core/engine.js';
import { ParquetCodec } from '../format/parquet/parquet-codec.js';

const { container: rootContainer, instanceCachingFactory } = loadTsyringe();

/**
 * Loads tsyringe without installing `reflect-metadata`, so that neither importing `hangar` nor
 * starting a server adds globals to a library user's process. tsyringe reads Reflect metadata only
 * in its decorators (`@injectable`, `@inject`), which Hangar does not use; but its entry module
 * refuses to load unless `Reflect.getMetadata` exists. So while it loads (synchronously, nothing
 * else runs meanwhile) a stand-in is present, and it is removed straight after. A process that has
 * a real polyfill keeps it untouched.
 */
function loadTsyringe(): typeof Tsyringe {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect['getMetadata'] === 'function') return createRequire(import.meta.url)('tsyringe') as typeof Tsyringe;
  reflect['getMetadata'] = () => {
    throw new Error('Hangar wires its container with factories; tsyringe decorators are not supported');
  };
  try {
    return createRequire(import.meta.url)('tsyringe') as typeof Tsyringe;
  } finally {
    delete reflect['getMetadata'];
  }
}

/** Injection tokens. */
export const TOKENS = {
  FrameStore: Symbol('FrameStore'),
  Codec: Symbol('ParquetCodec'),
  EngineOptions: Symbol('EngineOptions'),
  Engine: Symbol('HangarEngine'),
} as const;

/** Builds a child container wiring connector → codec → engine, each a singleton within it. */
export function createContainer(connector: FrameStore, engineOptions: EngineOptions = {}): DependencyContainer {
  const container = rootContainer.createChildContainer();
  container.registerInstance(TOKENS.FrameStore, connector);
  container.registerInstance(TOKENS.EngineOptions, engineOptions);
  container.register(TOKENS.Codec, { useFactory: instanceCachingFactory(() => new ParquetCodec()) });
  container.register(TOKENS.Engine, {
    useFactory: instanceCachingFactory(
      (c) =>
        new HangarEngine(
          c.resolve<FrameStore>(TOKENS.FrameStore),
          c.resolve<ParquetCodec>(TOKENS.Codec),
          c.resolve<EngineOptions>(TOKENS.EngineOptions),
        ),
    ),
  });
  return container;
}
