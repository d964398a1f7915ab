/** Test helpers for connector authors: the conformance suite every connector must pass. */
export { runConnectorConformance, runFrameStoreConformance, type ConformanceOptions, type StoreFactory } from './connector-conformance.js';
