// The example from docs/custom-connectors.md must pass the same suite as the built-in connectors.
import { KeyValueConnector, MapStore } from '../../docs/examples/key-value-connector.js';
import { runConnectorConformance } from '../../src/testing/index.js';

runConnectorConformance({ name: 'key-value example', create: async () => new KeyValueConnector(new MapStore()) });
