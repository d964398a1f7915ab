/** Test helpers for connector authors: the conformance suite every connector must pass. */
export { runConnectorConformance, type ConformanceOptions } from './connector-conformance.js';
