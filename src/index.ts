/** Hangar's public API: the server, the engine's types, connectors and errors. */
export { HangarServer, type HangarServerOptions } from './server/hangar-server.js';
export {
  HangarEngine,
  type CompactionReport,
  type EngineOptions,
  type FrameStream,
  type PurgeReport,
  type ReadOptions,
  type VacuumReport,
  type VersionInfo,
} from './core/engine.js';
export { DEFAULT_RETENTION, type RetentionPolicy } from './core/retention.js';
export type { VersionSelector } from './core/version-selection.js';
export type { FrameInfo, PutSummary } from './core/frame-info.js';
export * from './errors.js';
export { DEFAULT_BUCKET, type FrameRef, frameRef, validateName } from './names.js';
export type { PutMode, BucketDeleteMode } from './core/put-mode.js';
export { type FrameManifest, type FrameOperation, type SegmentEntry, liveManifest, segmentObjectIds } from './format/manifest.js';
export { Connector, type ObjectInfo, type PutOptions, type WriteConsistency, checkRange } from './storage/connector.js';
export { FrameStore, type FrameStoreCapabilities, DEFAULT_STORE_CAPABILITIES, type StoredObject } from './storage/frame-store.js';
export { ObjectLayout, type ObjectLayoutOptions, asFrameStore } from './storage/object-layout.js';
export { ConnectorRegistry, type ConnectorFactory, defaultConnectorRegistry } from './connectors/registry.js';
export { type ConnectorPlugin, loadConnectorPlugin, registerConnectorPlugin } from './connectors/connector-plugins.js';
export { MountedStore } from './storage/mounted-store.js';
export { MemoryConnector } from './connectors/memory/memory-connector.js';
export { LocalConnector, type LocalConnectorOptions } from './connectors/local/local-connector.js';
export { S3Connector } from './connectors/s3/s3-connector.js';
export { type S3ConnectorOptions, type ConditionalWritesMode, s3OptionsFromUrl } from './connectors/s3/s3-config.js';
export { AzureConnector } from './connectors/azure/azure-connector.js';
export { type AzureConnectorOptions, azureOptionsFromUrl } from './connectors/azure/azure-config.js';
export { SqliteConnector } from './connectors/sqlite/sqlite-connector.js';
export { type SqliteConnectorOptions, sqliteLocationFromUrl } from './connectors/sqlite/sqlite-config.js';
export type { CatalogCheckReport, CatalogRebuildSummary } from './connectors/sqlite/catalog-maintenance.js';
