// Importing `hangar` (and starting a server from it) must leave a library user's globals alone:
// no reflect-metadata polyfill on Reflect (issue 16, item 8). Checked in a fresh Node process over dist/.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const INDEX = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/** Runs an ES module script in a fresh Node process and returns what it printed as JSON. */
async function runScript(source: string): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', source]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('importing hangar', () => {
  it('installs no Reflect metadata polyfill', async () => {
    const result = await runScript(`
      const hangar = await import(${JSON.stringify(INDEX)});
      console.log(JSON.stringify({
        exported: typeof hangar.HangarServer,
        getMetadata: typeof Reflect.getMetadata,
        defineMetadata: typeof Reflect.defineMetadata,
      }));
    `);
    expect(result).toEqual({ exported: 'function', getMetadata: 'undefined', defineMetadata: 'undefined' });
  });

  it('serves a store from a started HangarServer without installing one either', async () => {
    const result = await runScript(`
      const { HangarServer } = await import(${JSON.stringify(INDEX)});
      const server = await HangarServer.start({ port: 0, data: 'memory:' });
      const listening = server.location.startsWith('grpc://127.0.0.1:');
      await server.close();
      console.log(JSON.stringify({ listening, getMetadata: typeof Reflect.getMetadata }));
    `);
    expect(result).toEqual({ listening: true, getMetadata: 'undefined' });
  });

  it('keeps a polyfill the process installed itself', async () => {
    const result = await runScript(`
      await import('reflect-metadata');
      const own = Reflect.getMetadata;
      const { HangarServer } = await import(${JSON.stringify(INDEX)});
      const server = await HangarServer.start({ port: 0, data: 'memory:' });
      await server.close();
      console.log(JSON.stringify({ kept: Reflect.getMetadata === own }));
    `);
    expect(result).toEqual({ kept: true });
  });
});
