/** `hangar push` and `hangar tail` against a real server: CSV and Arrow IPC from standard input, a follow-tail. */
import { spawn } from 'node:child_process';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HangarServer } from '../../src/server/hangar-server.js';
import { HANGAR_CLI } from '../helpers/hangar-process.js';

let server: HangarServer;
beforeAll(async () => {
  server = await HangarServer.start({ port: 0, data: 'memory:' });
});
afterAll(async () => server.close());

function hangar(args: string[], input?: Uint8Array | string): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; stdout: () => string } {
  const child = spawn(process.execPath, [HANGAR_CLI, ...args, '--server', server.location], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  return { done: new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr }))), stdout: () => stdout };
}

it('push from CSV and Arrow IPC on standard input; tail prints CSV, following new entries', async () => {
  const csv = await hangar(['push', 'meter', '--bucket', 'live'], 'sensor,value\n1,0.5\n2,1.5\n').done;
  expect(csv.stderr).toBe('');
  expect(csv.stdout).toMatch(/^pushed 2 entries: \d+-\d+ … \d+-\d+\n$/);

  // Following from the last ID pushed: whenever the tail connects, it gets exactly the next two.
  const lastId = /… (\d+-\d+)/.exec(csv.stdout)![1]!;
  const follower = hangar(['tail', 'meter', '--bucket', 'live', '--after', lastId, '--count', '2']);
  const arrows = tableToIPC(tableFromArrays({ sensor: BigInt64Array.from([3n, 4n]), value: Float64Array.from([2.5, 3.5]) }), 'stream');
  const pushed = await hangar(['push', 'meter', '--bucket', 'live'], arrows).done;
  expect(pushed.stdout).toMatch(/^pushed 2 entries/);
  const followed = await follower.done;
  expect(followed.code).toBe(0);
  const lines = followed.stdout.trim().split('\n');
  expect(lines[0]).toBe('_id,_ts,sensor,value');
  expect(lines.slice(1).map((line) => line.split(',').slice(2).join(','))).toEqual(['3,2.5', '4,3.5']);

  const all = await hangar(['tail', 'meter', '--bucket', 'live', '--after', '0', '--no-follow']).done;
  expect(all.stdout.trim().split('\n').slice(1).map((line) => line.split(',').at(-1))).toEqual(['0.5', '1.5', '2.5', '3.5']);
}, 30_000);
