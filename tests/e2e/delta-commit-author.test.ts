// The user in the Delta log: with authentication on, each commit's commitInfo names the caller
// whose token made it (userName/userId: the token's subject); without authentication it names none.
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { parseScopes } from '../../src/server/auth/scopes.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const SECRET = 'test-secret-of-at-least-32-bytes!!';
const table = tableFromArrays({ x: Int32Array.from([1, 2, 3]) });

async function commitInfoOf(connector: MemoryConnector, frame: string, deltaVersion: number): Promise<Record<string, unknown>> {
  const bytes = await connector.get(`a/${frame}/_delta_log/${String(deltaVersion).padStart(20, '0')}.json`);
  expect(bytes, `commit ${deltaVersion} of ${frame}`).toBeDefined();
  const first = JSON.parse(Buffer.from(bytes!).toString('utf8').split('\n')[0]!) as { commitInfo: Record<string, unknown> };
  return first.commitInfo;
}

describe('commitInfo names the committing user', () => {
  const servers: HangarServer[] = [];
  const clients: HangarClient[] = [];
  beforeAll(() => {
    process.env['HANGAR_LAYOUT'] = 'delta';
  });
  afterAll(async () => {
    delete process.env['HANGAR_LAYOUT'];
    for (const client of clients) client.close();
    for (const server of servers) await server.close();
  });

  it('with authentication: the token’s subject, per commit', async () => {
    const connector = new MemoryConnector();
    const server = await HangarServer.start({ port: 0, connector, auth: { secret: SECRET } });
    servers.push(server);
    const as = (subject: string): HangarClient => {
      const client = HangarClient.connect(server.location, { headers: { authorization: `Bearer ${server.authenticator.issue(subject, parseScopes('write:a read:a'))}` } });
      clients.push(client);
      return client;
    };
    await as('alice').put('f', table, { bucket: 'a' });
    await as('bob').put('f', table, { bucket: 'a', mode: 'append' });
    expect(await commitInfoOf(connector, 'f', 0)).toMatchObject({ userName: 'alice', userId: 'alice', operation: 'CREATE OR REPLACE TABLE' });
    expect(await commitInfoOf(connector, 'f', 1)).toMatchObject({ userName: 'bob', userId: 'bob', operation: 'WRITE' });
  });

  it('without authentication: no user', async () => {
    const connector = new MemoryConnector();
    const server = await HangarServer.start({ port: 0, connector });
    servers.push(server);
    const client = HangarClient.connect(server.location);
    clients.push(client);
    await client.put('f', table, { bucket: 'a' });
    const info = await commitInfoOf(connector, 'f', 0);
    expect(info['engineInfo']).toMatch(/^Hangar\//);
    expect(info).not.toHaveProperty('userName');
  });
});
