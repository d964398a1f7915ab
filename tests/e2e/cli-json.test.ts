// `hangar ls`, `buckets`, `stat` and `versions` with --json, and the exit codes, for scripts: real
// commands (dist/) against a real server, their output parsed as JSON.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { HANGAR_CLI } from '../helpers/hangar-process.js';

let server: HangarServer;

async function hangarJson(args: readonly string[]): Promise<unknown> {
  const { stdout } = await promisify(execFile)(process.execPath, [HANGAR_CLI, ...args, '--server', server.location, '--json']);
  return JSON.parse(stdout);
}

beforeAll(async () => {
  server = await HangarServer.start({ port: 0, data: 'memory:' });
  const client = HangarClient.connect(server.location);
  await client.put('prices', tableFromArrays({ px: Float64Array.of(1, 2) }), { bucket: 'market', metadata: { unit: 'EUR' } });
  await client.put('prices', tableFromArrays({ px: Float64Array.of(3) }), { bucket: 'market', mode: 'append' });
  client.close();
});
afterAll(async () => {
  await server.close();
});

describe('--json output', () => {
  it('ls and buckets', async () => {
    expect(await hangarJson(['buckets'])).toEqual(['market']);
    expect(await hangarJson(['ls', 'market'])).toEqual([
      { name: 'prices', bucket: 'market', rows: 3, bytes: expect.any(Number), metadata: { unit: 'EUR' }, schema: [{ name: 'px', type: 'Float64', nullable: false }] },
    ]);
  });

  it('stat, also of an earlier version', async () => {
    expect(await hangarJson(['stat', 'prices', '--bucket', 'market'])).toMatchObject({ name: 'prices', version: 2, rows: 3, metadata: { unit: 'EUR' } });
    expect(await hangarJson(['stat', 'prices', '--bucket', 'market', '--version', '1'])).toMatchObject({ version: 1, rows: 2 });
  });

  it('versions', async () => {
    const versions = (await hangarJson(['versions', 'prices', '--bucket', 'market'])) as { version: number; operation: string; rows: number }[];
    expect(versions.map(({ version, operation, rows }) => ({ version, operation, rows }))).toEqual([
      { version: 1, operation: 'put', rows: 2 },
      { version: 2, operation: 'append', rows: 3 },
    ]);
  });
});

describe('exit codes', () => {
  async function exitCode(args: readonly string[]): Promise<number> {
    try {
      await promisify(execFile)(process.execPath, [HANGAR_CLI, ...args]);
      return 0;
    } catch (error) {
      return (error as { code: number }).code;
    }
  }

  it('2 for usage errors, 3 for not found, 4 for authentication and permission failures, 1 otherwise', async () => {
    expect(await exitCode(['bogus-command'])).toBe(2);
    expect(await exitCode(['ls', '--no-such-option'])).toBe(2);
    expect(await exitCode(['stat', 'absent', '--server', server.location])).toBe(3);
    const secured = await HangarServer.start({ port: 0, data: 'memory:', auth: { secret: 'exit-code-test-secret-of-32-bytes!!' } });
    try {
      expect(await exitCode(['buckets', '--server', secured.location])).toBe(4);
      expect(await exitCode(['buckets', '--server', secured.location, '--token', 'not-a-jwt'])).toBe(4);
    } finally {
      await secured.close();
    }
    expect(await exitCode(['put', 'missing-file.csv', 'x', '--server', server.location])).toBe(1);
    expect(await exitCode(['--version'])).toBe(0);
  });
});
