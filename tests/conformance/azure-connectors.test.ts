// The whole connector conformance suite, unchanged, on the Azure Blob connector over Azurite
// started here on 127.0.0.1: the byte contract, then every feature on the object layout above it.
import { afterAll, beforeAll, describe } from 'vitest';
import { AzureConnector } from '../../src/connectors/azure/azure-connector.js';
import { runConnectorConformance } from '../../src/testing/index.js';
import { type AzuriteServer, azureStoreOptions, createContainer, freshAzureConnector, startAzurite } from '../azure/azurite-server.js';

const CONTAINER = 'hangar-conformance';

describe('Azure Blob on Azurite', () => {
  let server: AzuriteServer;
  beforeAll(async () => {
    server = await startAzurite();
    await createContainer(server, CONTAINER);
  });
  afterAll(async () => {
    await server?.close();
  });

  runConnectorConformance({
    name: 'azure (azurite)',
    create: async () => freshAzureConnector(server, CONTAINER),
    reopen: async (previous) => new AzureConnector({ ...azureStoreOptions(server, CONTAINER), prefix: (previous as AzureConnector).options.root }),
  });
});
