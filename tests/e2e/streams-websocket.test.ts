/**
 * PTG's WebSocket protocol against a real server, with the `ws` client: /token from the users file,
 * push with batch+ack, a blocking pull that returns when another client pushes, scoped tokens, and
 * what arrived over WebSocket readable as a frame.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarServer } from '../../src/server/hangar-server.js';
import { parseScopes } from '../../src/server/auth/scopes.js';
import { UsersFile } from '../../src/server/auth/users-file.js';
import { HangarClient } from '../../src/client/index.js';

let server: HangarServer;
let dir: string;
let ws: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hangar-ws-'));
  const users = await UsersFile.load(join(dir, 'users.json'), true);
  await users.set('dev', 'devpass', parseScopes('read:default write:default read:lab write:lab'));
  await users.set('viewer', 'viewpass', parseScopes('read:lab'));
  server = await HangarServer.start({ port: 0, data: join(dir, 'data'), auth: { secret: 'ws-test-secret-of-at-least-32-bytes!', users }, http: { port: 0 } });
  ws = server.httpUrl!.replace(/^http/, 'ws');
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function tokenFor(username: string, password: string): Promise<string> {
  const response = await fetch(`${server.httpUrl}/token`, { method: 'POST', body: new URLSearchParams({ username, password }) });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; token_type: string };
  expect(body.token_type).toBe('bearer');
  return body.access_token;
}

type Message = { data: Buffer; binary: boolean };
/** A client socket whose messages are queued from the start (they may arrive with the upgrade's reply). */
type Client = { socket: WebSocket; next(n: number): Promise<Message[]>; send(data: string | Buffer): void; close(): void };

function open(path: string, token?: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${ws}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const queue: Message[] = [];
    let waiting: (() => void) | undefined;
    socket.on('message', (data: Buffer, binary: boolean) => {
      queue.push({ data, binary });
      waiting?.();
    });
    const next = async (n: number): Promise<Message[]> => {
      while (queue.length < n) await new Promise<void>((wake) => (waiting = wake));
      return queue.splice(0, n);
    };
    socket.once('open', () => resolve({ socket, next, send: (data) => socket.send(data), close: () => socket.close() }));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    socket.once('error', reject);
  });
}

/** Reads pull deliveries (an index message, then the bytes) until `entries` entries have come. */
async function pullEntries(puller: Client, entries: number): Promise<{ ids: string[]; payloads: string[]; deliveries: number }> {
  const ids: string[] = [];
  const payloads: string[] = [];
  let deliveries = 0;
  while (ids.length < entries) {
    const [index, bytes] = await puller.next(2);
    expect(index!.binary).toBe(false);
    expect(bytes!.binary).toBe(true);
    const offsets = JSON.parse(index!.data.toString()) as [string, number][];
    offsets.forEach(([id, offset], i) => {
      ids.push(id);
      payloads.push(bytes!.data.subarray(offset, offsets[i + 1]?.[1] ?? bytes!.data.byteLength).toString());
    });
    deliveries++;
  }
  return { ids, payloads, deliveries };
}

describe('PTG WebSocket protocol', { timeout: 15_000 }, () => {
  it('POST /token refuses a wrong password', async () => {
    const response = await fetch(`${server.httpUrl}/token`, { method: 'POST', body: new URLSearchParams({ username: 'dev', password: 'nope' }) });
    expect(response.status).toBe(401);
  });

  it('push with batch+ack answers each batch with its IDs; a blocking pull returns when another client pushes', async () => {
    const token = await tokenFor('dev', 'devpass');
    const puller = await open('/data/lab:cam0/pull?last_entry_id=$', token);
    const pusher = await open('/data/lab:cam0/push?batch=true&ack=true', token);
    pusher.send('0,6,13');
    pusher.send(Buffer.from('Entry0Entry11Entry222'));
    pusher.send('0');
    pusher.send(Buffer.from('solo'));
    const [first, second] = await pusher.next(2);
    const firstIds = first!.data.toString().split(',');
    expect(firstIds).toHaveLength(3);
    const secondIds = second!.data.toString().split(',');
    expect(secondIds).toHaveLength(1);
    const pulled = await pullEntries(puller, 4);
    expect(pulled.payloads).toEqual(['Entry0', 'Entry11', 'Entry222', 'solo']);
    expect(pulled.ids).toEqual([...firstIds, ...secondIds]);
    pusher.close();
    puller.close();

    // The same entries as a frame: `_id`, `_ts`, `data`.
    const client = HangarClient.connect(server.location, { headers: { authorization: `Bearer ${token}` } });
    const table = await client.get('cam0', { bucket: 'lab' });
    expect(table.numRows).toBe(4);
    expect(Buffer.from(table.getChild('data')!.get(3) as Uint8Array).toString()).toBe('solo');
    client.close();
  });

  it('without batch each binary message is one entry; last_entry_id=0 replays from the start; token as a query parameter', async () => {
    const token = await tokenFor('dev', 'devpass');
    const pusher = await open(`/data/single/push?ack=1&token=${token}`);
    for (const text of ['a', 'bb', 'ccc']) pusher.send(Buffer.from(text));
    expect((await pusher.next(3)).map((ack) => ack.data.toString().split(',').length)).toEqual([1, 1, 1]);
    pusher.close();
    const puller = await open(`/data/single/pull?last_entry_id=0&count=2&token=${token}`);
    const pulled = await pullEntries(puller, 3);
    expect(pulled.payloads).toEqual(['a', 'bb', 'ccc']);
    expect(pulled.deliveries).toBe(2); // count=2: at most two entries per delivery
    puller.close();
  });

  it('scoped tokens: a read-only token cannot push; no token, no connection; unknown parameters refused', async () => {
    const viewer = await tokenFor('viewer', 'viewpass');
    await expect(open('/data/lab:cam0/push', viewer)).rejects.toThrow(/HTTP 403/);
    await expect(open('/data/default:x/pull', viewer)).rejects.toThrow(/HTTP 403/);
    await expect(open('/data/lab:cam0/pull')).rejects.toThrow(/HTTP 401/);
    await expect(open('/data/lab:cam0/pull?lastid=0', viewer)).rejects.toThrow(/HTTP 400/);
    const reader = await open('/data/lab:cam0/pull?last_entry_id=0', viewer);
    expect((await pullEntries(reader, 4)).payloads).toEqual(['Entry0', 'Entry11', 'Entry222', 'solo']);
    reader.close();
  });
});
