// Azurite's Blob service (the `azurite` npm package) in a child process on a free 127.0.0.1 port,
// storing into a temporary directory, for the Azure connector's tests.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AzureConnector } from '../../src/connectors/azure/azure-connector.js';
import type { AzureConnectorOptions } from '../../src/connectors/azure/azure-config.js';
import { startChildServer } from '../helpers/child-server.js';

/** Azurite's built-in development account and its published key. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A running Azurite Blob service. */
export interface AzuriteServer {
  /** The blob endpoint of the development account, e.g. `http://127.0.0.1:PORT/devstoreaccount1`. */
  readonly endpoint: string;
  /** A connection string for the development account at this server. */
  readonly connectionString: string;
  /** Stops the server (killing it if it does not stop) and removes its directory. */
  close(): Promise<void>;
}

const AZURITE_BLOB = join(dirname(createRequire(import.meta.url).resolve('azurite/package.json')), 'dist/src/blob/main.js');

/** Starts `azurite-blob` on a free loopback port over a fresh temporary directory. */
export async function startAzurite(): Promise<AzuriteServer> {
  const location = await mkdtemp(join(tmpdir(), 'hangar-azurite-'));
  const server = await startChildServer(
    'Azurite',
    process.execPath,
    [AZURITE_BLOB, '--blobHost', '127.0.0.1', '--blobPort', '0', '--location', location, '--silent', '--skipApiVersionCheck', '--disableTelemetry'],
    /listens on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  const origin = server.ready[1]!;
  const endpoint = `${origin}/${AZURITE_ACCOUNT}`;
  return {
    endpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    close: async () => {
      await server.stop();
      await rm(location, { recursive: true, force: true });
    },
  };
}

/** Creates a blob container on the server. */
export async function createContainer(server: AzuriteServer, container: string): Promise<void> {
  const { BlobServiceClient } = await import('@azure/storage-blob');
  await BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient(container).createIfNotExists();
}

/** Connector options for a fresh, empty store (a new prefix) in `container`, with the development account's key. */
export function azureStoreOptions(server: AzuriteServer, container: string, extra: Partial<AzureConnectorOptions> = {}): AzureConnectorOptions {
  return { container, prefix: `t-${randomUUID()}`, endpoint: server.endpoint, account: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, maxAttempts: 2, ...extra };
}

/** A fresh, unopened connector over a new prefix. */
export function freshAzureConnector(server: AzuriteServer, container: string, extra: Partial<AzureConnectorOptions> = {}): AzureConnector {
  return new AzureConnector(azureStoreOptions(server, container, extra));
}
