// The Azure Blob connector's byte contract against a real Azurite started here on 127.0.0.1:
// reads, conditional writes raced between two connectors, deletes, listings, ranges, and errors.
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureConnector } from '../../src/connectors/azure/azure-connector.js';
import { azureOptionsFromUrl, resolveAzureOptions } from '../../src/connectors/azure/azure-config.js';
import { FailedPreconditionError, InvalidArgumentError, PermissionDeniedError, StorageError } from '../../src/errors.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, type AzuriteServer, azureStoreOptions, createContainer, freshAzureConnector, startAzurite } from './azurite-server.js';

const CONTAINER = 'hangar-azure-test';
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined): string | undefined => (data === undefined ? undefined : new TextDecoder().decode(data));

async function keysOf(connector: AzureConnector, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of connector.list(prefix)) keys.push(info.key);
  return keys.sort();
}

async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('Azure connector on Azurite', () => {
  let server: AzuriteServer;
  let store: AzureConnector;
  beforeAll(async () => {
    server = await startAzurite();
    await createContainer(server, CONTAINER);
    store = freshAzureConnector(server, CONTAINER);
    await store.open();
  });
  afterAll(async () => {
    await store?.close();
    await server?.close();
  });

  it('stores, replaces and reads objects; a missing key is undefined', async () => {
    expect(await store.get('rw/a')).toBeUndefined();
    expect(await store.put('rw/a', bytes('first'))).toBe(true);
    expect(text(await store.get('rw/a'))).toBe('first');
    expect(await store.put('rw/a', bytes('second'))).toBe(true);
    expect(text(await store.get('rw/a'))).toBe('second');
    await store.put('rw/empty', new Uint8Array(0));
    expect(await store.get('rw/empty')).toEqual(new Uint8Array(0));
  });

  it('returns buffers the caller owns, not slices of pooled memory', async () => {
    await store.put('own/small', bytes('tiny'));
    const data = (await store.get('own/small'))!;
    expect(data.byteOffset).toBe(0);
    expect(data.buffer.byteLength).toBe(4);
  });

  it('ifAbsent writes only a new key and leaves an existing one unchanged', async () => {
    expect(await store.put('cas/k', bytes('winner'), { ifAbsent: true })).toBe(true);
    expect(await store.put('cas/k', bytes('loser'), { ifAbsent: true })).toBe(false);
    expect(text(await store.get('cas/k'))).toBe('winner');
  });

  it('lets exactly one of many racing ifAbsent puts from two connectors win', async () => {
    const other = new AzureConnector({ ...azureStoreOptions(server, CONTAINER), prefix: store.options.root });
    await other.open();
    for (let round = 0; round < 5; round++) {
      const key = `race/${round}`;
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).put(key, bytes(`writer ${i}`), { ifAbsent: true })),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(text(await other.get(key))).toBe(`writer ${results.indexOf(true)}`);
    }
    await other.close();
  });

  it('reports a conditional put as won when its response was lost and the retry found its own blob', async () => {
    // A proxy that lets the first upload of 'lost/' reach Azurite, then drops the connection before the answer.
    let dropped = 0;
    const proxy = createHttpServer((request, response) => {
      const upstream = httpRequest(new URL(request.url!, server.endpoint), { method: request.method, headers: request.headers }, (answer) => {
        if (request.method === 'PUT' && request.url!.includes('/lost/') && dropped++ === 0) {
          answer.resume();
          request.socket.destroy();
          return;
        }
        response.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(response);
      });
      request.pipe(upstream);
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => proxy.once('listening', resolve));
    const { port } = proxy.address() as { port: number };
    const flaky = new AzureConnector({ ...azureStoreOptions(server, CONTAINER), prefix: store.options.root, endpoint: `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}` });
    await flaky.open();
    expect(await flaky.put('lost/k', bytes('mine'), { ifAbsent: true })).toBe(true);
    expect(dropped).toBe(2);
    expect(text(await store.get('lost/k'))).toBe('mine');
    // Another writer's blob is still a lost race.
    expect(await flaky.put('lost/k', bytes('again'), { ifAbsent: true })).toBe(false);
    await flaky.close();
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('deletes existing and missing keys alike', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `del/${i}`);
    await Promise.all(keys.map((key) => store.put(key, bytes(key))));
    await store.delete([...keys, 'del/never-there']);
    expect(await keysOf(store, 'del/')).toEqual([]);
    expect(await store.get('del/3')).toBeUndefined();
    await store.delete([]);
  });

  it('lists by plain string prefix, with sizes and times, relative to the store prefix', async () => {
    const before = Date.now() - 60_000;
    await store.put('ls/a/1', bytes('x'));
    await store.put('ls/a/22', bytes('yy'));
    await store.put('ls/ab', bytes('zzz'));
    await store.put('ls-other', bytes(''));
    expect(await keysOf(store, 'ls/a/')).toEqual(['ls/a/1', 'ls/a/22']);
    expect(await keysOf(store, 'ls/a')).toEqual(['ls/a/1', 'ls/a/22', 'ls/ab']);
    const infos = new Map<string, { size: number; modifiedAt: Date }>();
    for await (const info of store.list('ls')) infos.set(info.key, info);
    expect([...infos.keys()].sort()).toEqual(['ls-other', 'ls/a/1', 'ls/a/22', 'ls/ab']);
    expect(infos.get('ls/a/22')!.size).toBe(2);
    expect(infos.get('ls-other')!.size).toBe(0);
    expect(infos.get('ls/ab')!.modifiedAt.getTime()).toBeGreaterThan(before);
    // Another store in the same container, under another prefix, sees none of it.
    const neighbour = freshAzureConnector(server, CONTAINER);
    await neighbour.open();
    expect(await keysOf(neighbour, '')).toEqual([]);
    await neighbour.close();
  });

  it('leaves out the directory blobs that accounts with a hierarchical namespace list', async () => {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const container = BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient(CONTAINER);
    await store.put('dirs/a/file', bytes('x'));
    await container.getBlockBlobClient(`${store.options.root}dirs/a`).upload('', 0, { metadata: { hdi_isfolder: 'true' } });
    expect(await keysOf(store, 'dirs/')).toEqual(['dirs/a/file']);
  });

  it('reads ranges: inside, across the end, at and past the end, empty, and of missing keys', async () => {
    expect(store.readsRanges).toBe(true);
    await store.put('range/k', bytes('0123456789'));
    expect(text(await store.getRange('range/k', 2, 3))).toBe('234');
    expect(text(await store.getRange('range/k', 0, 10))).toBe('0123456789');
    expect(text(await store.getRange('range/k', 7, 100))).toBe('789');
    expect(await store.getRange('range/k', 10, 5)).toEqual(new Uint8Array(0));
    expect(await store.getRange('range/k', 50, 5)).toEqual(new Uint8Array(0));
    expect(await store.getRange('range/k', 3, 0)).toEqual(new Uint8Array(0));
    expect(await store.getRange('range/missing', 0, 5)).toBeUndefined();
    expect(await store.getRange('range/missing', 0, 0)).toBeUndefined();
    await store.put('range/empty', new Uint8Array(0));
    expect(await store.getRange('range/empty', 0, 5)).toEqual(new Uint8Array(0));
    await expect(store.getRange('range/k', -1, 2)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.getRange('range/k', 0, 1.5)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('heads objects: size and time, or undefined', async () => {
    await store.put('head/k', bytes('12345'));
    const info = await store.head('head/k');
    expect(info?.key).toBe('head/k');
    expect(info?.size).toBe(5);
    expect(info?.modifiedAt).toBeInstanceOf(Date);
    expect(await store.head('head/missing')).toBeUndefined();
  });

  it('connects with a connection string and with a SAS token', async () => {
    const prefix = store.options.root;
    const viaString = new AzureConnector({ container: CONTAINER, prefix, connectionString: server.connectionString });
    await viaString.open();
    await viaString.put('auth/string', bytes('s'));
    const sdk = await import('@azure/storage-blob');
    const sas = sdk
      .generateBlobSASQueryParameters(
        { containerName: CONTAINER, permissions: sdk.ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3_600_000) },
        new sdk.StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      )
      .toString();
    const viaSas = new AzureConnector({ container: CONTAINER, prefix, endpoint: server.endpoint, sas });
    await viaSas.open();
    expect(text(await viaSas.get('auth/string'))).toBe('s');
    expect(await viaSas.put('auth/string', bytes('t'), { ifAbsent: true })).toBe(false);
    await viaString.close();
    await viaSas.close();
  });

  it('fails at open with FAILED_PRECONDITION for a missing container', async () => {
    const connector = freshAzureConnector(server, 'no-such-container');
    const error = await connector.open().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toMatch(/azure:\/\/no-such-container\/.* does not exist; create it first/);
    expect((error as Error).cause).toBeDefined();
  });

  it('fails with FAILED_PRECONDITION on every call once the container is gone, HEAD included', async () => {
    await createContainer(server, 'short-lived');
    const connector = freshAzureConnector(server, 'short-lived');
    await connector.open();
    const { BlobServiceClient } = await import('@azure/storage-blob');
    await BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient('short-lived').delete();
    await expect(connector.head('k')).rejects.toThrow(/could not read the properties of 'k': the container of .* does not exist/);
    await expect(connector.get('k')).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(connector.put('k', bytes('x'), { ifAbsent: true })).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(connector.delete(['k'])).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(keysOf(connector, '')).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it('fails at open with PERMISSION_DENIED for a wrong key or a SAS without rights', async () => {
    const wrongKey = freshAzureConnector(server, CONTAINER, { accountKey: Buffer.from('not the key').toString('base64') });
    const error = await wrongKey.open().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as Error).message).toMatch(/refused access \(Auth\w+, HTTP 403\); check the credentials/);
    const sdk = await import('@azure/storage-blob');
    const readOnly = sdk
      .generateBlobSASQueryParameters(
        { containerName: CONTAINER, permissions: sdk.ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3_600_000) },
        new sdk.StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      )
      .toString();
    const reader = new AzureConnector({ container: CONTAINER, prefix: store.options.root, endpoint: server.endpoint, sas: readOnly });
    await reader.open();
    await expect(reader.put('denied', bytes('x'))).rejects.toBeInstanceOf(PermissionDeniedError);
    await reader.close();
  });

  it('fails with a StorageError saying the endpoint is unreachable', async () => {
    const port = await closedPort();
    const connector = freshAzureConnector(server, CONTAINER, { endpoint: `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`, maxAttempts: 1 });
    const error = await connector.open().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/is unreachable \(ECONNREFUSED\)/);
  });

  it('refuses use before open', async () => {
    await expect(freshAzureConnector(server, CONTAINER).get('x')).rejects.toThrow(/is not open; call open\(\) first/);
  });
});

describe('Azure options', () => {
  it('reads container, prefix, endpoint, account, SAS and attempts from the URL', () => {
    const options = azureOptionsFromUrl(
      new URL('azure://my-container/some/prefix?endpoint=http://127.0.0.1:10000/acct&account=acct&sas=sv%3D1%26sig%3Dx&maxAttempts=3'),
    );
    expect(options).toEqual({ container: 'my-container', prefix: '/some/prefix', endpoint: 'http://127.0.0.1:10000/acct', account: 'acct', sas: 'sv=1&sig=x', maxAttempts: 3 });
    expect(resolveAzureOptions(options, {})).toMatchObject({ root: 'some/prefix/', credentials: { kind: 'sas', sas: 'sv=1&sig=x' }, maxAttempts: 3 });
  });

  it('refuses secrets, unknown parameters and bad names in the URL', () => {
    expect(() => azureOptionsFromUrl(new URL('azure://c0ntainer/?accountKey=abc'))).toThrow(/secrets do not belong in the Azure location/);
    expect(() => azureOptionsFromUrl(new URL('azure://c0ntainer/?connectionString=abc'))).toThrow(/secrets do not belong/);
    expect(() => azureOptionsFromUrl(new URL('azure://user:pw@c0ntainer/'))).toThrow(/credentials do not belong/);
    expect(() => azureOptionsFromUrl(new URL('azure://c0ntainer/?region=x'))).toThrow(/unknown Azure location parameter 'region'/);
    const env = { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' };
    expect(() => resolveAzureOptions({ container: 'Upper' }, env)).toThrow(InvalidArgumentError);
    expect(() => resolveAzureOptions({ container: 'a--b' }, env)).toThrow(/invalid Azure container name/);
    expect(() => resolveAzureOptions({ container: 'ok1', prefix: 'a/../b' }, env)).toThrow(/invalid Azure blob prefix/);
    expect(() => resolveAzureOptions({ container: 'ok1', maxAttempts: 0 }, env)).toThrow(/maxAttempts must be an integer ≥ 1/);
  });

  it('takes credentials from the environment, explicit options first', () => {
    const env = { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', AZURE_STORAGE_ACCOUNT: 'envacct', AZURE_STORAGE_KEY: 'a2V5' };
    expect(resolveAzureOptions({ container: 'c01' }, env).credentials).toEqual({ kind: 'connection-string', connectionString: 'UseDevelopmentStorage=true' });
    // Naming an endpoint or account sets the connection string aside: it names an endpoint of its own.
    expect(resolveAzureOptions({ container: 'c01', account: 'other' }, { ...env, AZURE_STORAGE_KEY: 'b3RoZXI=' }).credentials).toEqual({
      kind: 'shared-key',
      account: 'other',
      accountKey: 'b3RoZXI=',
      endpoint: 'https://other.blob.core.windows.net',
    });
    expect(resolveAzureOptions({ container: 'c01', endpoint: 'http://127.0.0.1:1/envacct/' }, env).credentials).toMatchObject({
      kind: 'shared-key',
      endpoint: 'http://127.0.0.1:1/envacct',
    });
    expect(resolveAzureOptions({ container: 'c01' }, { AZURE_STORAGE_ACCOUNT: 'a1', AZURE_STORAGE_SAS_TOKEN: '?sv=1' }).credentials).toEqual({
      kind: 'sas',
      sas: 'sv=1',
      endpoint: 'https://a1.blob.core.windows.net',
    });
  });

  it('says where credentials come from when there are none', () => {
    expect(() => resolveAzureOptions({ container: 'c01' }, {})).toThrow(PermissionDeniedError);
    expect(() => resolveAzureOptions({ container: 'c01', account: 'a1' }, {})).toThrow(/set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY/);
  });
});
