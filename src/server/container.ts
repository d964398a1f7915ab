/**
 * The composition root: the only place tsyringe is used. Tokens are symbols; every registration is
 * explicit, and each server (and each test) gets its own child container.
 */
import { type DependencyContainer, container as rootContainer, instanceCachingFactory } from 'tsyringe';
import type { FrameStore } from '../storage/frame-store.js';
import { type EngineOptions, HangarEngine } from '../core/engine.js';
import { ParquetCodec } from '../core/parquet/parquet-codec.js';

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
