// `hangar serve --plugin` loads a user's byte store (a subclass of Connector from the built package)
// and serves the whole feature set on it; `--config` mounts buckets on different stores.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { HANGAR_CLI } from '../helpers/hangar-process.js';

const PACKAGE = new URL('../../dist/index.js', import.meta.url).href;

/** A plugin module as a user would write it: a byte store over a directory, in plain JavaScript. */
const DIRECTORY_STORE_PLUGIN = `
import { link, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Connector } from ${JSON.stringify(PACKAGE)};

let temporary = 0;

class DirectoryStore extends Connector {
  name = 'dirstore';
  constructor(root) { super(); this.root = root; }
  async open() { await mkdir(this.root, { recursive: true }); }
  async get(key) {
    try { return new Uint8Array(await readFile(join(this.root, key))); }
    catch (error) { if (error.code === 'ENOENT') return undefined; throw error; }
  }
  async put(key, data, options = {}) {
    const path = join(this.root, key);
    await mkdir(dirname(path), { recursive: true });
    const staged = join(this.root, '.tmp-' + process.pid + '-' + temporary++);
    await writeFile(staged, data);
    if (!options.ifAbsent) { await rename(staged, path); return true; }
    try { await link(staged, path); return true; }
    catch (error) { if (error.code === 'EEXIST') return false; throw error; }
    finally { await rm(staged, { force: true }); }
  }
  async delete(keys) { await Promise.all(keys.map((key) => rm(join(this.root, key), { force: true }))); }
  async *list(prefix) {
    for (const entry of await readdir(this.root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith('.tmp-')) continue;
      const key = join(entry.parentPath ?? entry.path, entry.name).slice(this.root.length + 1);
      if (!key.startsWith(prefix)) continue;
      const info = await stat(join(this.root, key)).catch(() => undefined);
      if (info) yield { key, size: info.size, modifiedAt: info.mtime };
    }
  }
}

export default { scheme: 'dirstore', create: (url) => new DirectoryStore(url.pathname) };
`;

let workDirectory: string;
const running: ChildProcess[] = [];

beforeAll(async () => {
  workDirectory = await mkdtemp(join(tmpdir(), 'hangar-plugins-'));
  await writeFile(join(workDirectory, 'directory-store.mjs'), DIRECTORY_STORE_PLUGIN);
});

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await rm(workDirectory, { recursive: true, force: true });
});

/** Runs `hangar serve ARGS` in the work directory; resolves with its location once it listens. */
async function serve(args: readonly string[], env: Record<string, string> = {}): Promise<{ client: HangarClient; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [HANGAR_CLI, 'serve', ...args], { cwd: workDirectory, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`hangar serve exited with ${code} before listening: ${stderr}`)));
  });
  const client = HangarClient.connect(line.replace('hangar listening on ', ''));
  return {
    client,
    stop: async () => {
      client.close();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs `hangar serve ARGS`, expecting it to fail before listening; resolves with its stderr. */
async function serveFails(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const child = spawn(process.execPath, [HANGAR_CLI, 'serve', '--port', '0', ...args], { cwd: workDirectory, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(stdout).toBe('');
  expect(code).toBe(1);
  return stderr;
}

/** Every file under a directory, as relative paths. */
async function filesUnder(directory: string): Promise<string[]> {
  return (await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(directory.length + 1));
}

const numbers = (values: number[]) => tableFromArrays({ x: Float64Array.from(values) });

describe('hangar serve --plugin', () => {
  it('serves a plugin store: puts land in it, and versions and time travel work on it', async () => {
    const root = join(workDirectory, 'plugin-data');
    const server = await serve(['--port', '0', '--data', `dirstore://${root}`, '--plugin', './directory-store.mjs']);
    try {
      await server.client.put('prices', numbers([1, 2]), { bucket: 'market' });
      await server.client.put('prices', numbers([3]), { bucket: 'market', mode: 'append' });
      expect((await server.client.get('prices', { bucket: 'market' })).getChild('x')!.toArray()).toEqual(Float64Array.from([1, 2, 3]));
      expect((await server.client.versions('prices', { bucket: 'market' })).map((version) => version.version)).toEqual([1, 2]);
      expect((await server.client.get('prices', { bucket: 'market', version: 1 })).numRows).toBe(2);
      expect(await server.client.buckets()).toContain('market');
      expect((await filesUnder(root)).some((file) => file.includes('market'))).toBe(true);
    } finally {
      await server.stop();
    }
    // The offline commands take --plugin too.
    const { stdout } = await promisify(execFile)(process.execPath, [HANGAR_CLI, 'verify', '--data', `dirstore://${root}`, '--plugin', './directory-store.mjs', '--all-versions'], { cwd: workDirectory });
    expect(stdout).toMatch(/checked 1 frame\(s\), .*: 0 damaged/);
  });

  it('loads plugins named by HANGAR_PLUGINS, comma-separated', async () => {
    const root = join(workDirectory, 'plugin-env-data');
    const server = await serve(['--port', '0', '--data', `dirstore://${root}`], { HANGAR_PLUGINS: ` ,./directory-store.mjs` });
    try {
      await server.client.put('frame', numbers([1]));
      expect((await server.client.list()).map((frame) => frame.name)).toEqual(['frame']);
      expect((await filesUnder(root)).length).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });

  it('says what is wrong with a plugin module, and what it must export', async () => {
    await writeFile(join(workDirectory, 'no-default.mjs'), 'export const scheme = "x";');
    await writeFile(join(workDirectory, 'no-create.mjs'), 'export default { scheme: "nocreate" };');
    await writeFile(join(workDirectory, 'colon.mjs'), 'export default { scheme: "colon:", create() {} };');
    await writeFile(join(workDirectory, 'not-a-connector.mjs'), 'export default { scheme: "plain", create: () => ({ get() {}, put() {}, delete() {}, list() {} }) };');
    const [missing, noDefault, noCreate, colon, notAConnector, unknownScheme] = await Promise.all([
      serveFails(['--plugin', './missing.mjs']),
      serveFails(['--plugin', './no-default.mjs']),
      serveFails(['--plugin', './no-create.mjs']),
      serveFails(['--plugin', './colon.mjs']),
      serveFails(['--plugin', './not-a-connector.mjs', '--data', 'plain://x']),
      serveFails(['--data', 'dirstore:///tmp/x']),
    ]);
    expect(missing).toMatch(/cannot load the plugin \.\/missing\.mjs: there is no module at file:\/\/.*missing\.mjs; check the path/);
    expect(noDefault).toMatch(/the plugin \.\/no-default\.mjs has no default export; a plugin module must export default \{ scheme: 'mystore', create/);
    expect(noCreate).toMatch(/exports no "create" function \(got undefined\)/);
    expect(colon).toMatch(/exports the scheme "colon:": give it without the colon/);
    expect(notAConnector).toMatch(/create\(plain:\/\/x\) returned an object of class Object, which does not extend Connector from 'hangar' \(it has get, put, delete and list/);
    expect(unknownScheme).toMatch(/unknown store location scheme 'dirstore:'/);
  });
});

describe('hangar serve --config', () => {
  it('mounts buckets on their own stores: puts land in the mounted store, and listing shows every bucket', async () => {
    const config = {
      port: 0,
      data: 'main-data',
      plugins: ['./directory-store.mjs'],
      buckets: { archive: 'archive-data', scratch: 'memory:', remote: `dirstore://${join(workDirectory, 'remote-data')}` },
      keepFor: '1d',
    };
    await writeFile(join(workDirectory, 'hangar.json'), JSON.stringify(config));
    const server = await serve(['--config', 'hangar.json']);
    try {
      await server.client.put('old', numbers([1]), { bucket: 'archive' });
      await server.client.put('tmp', numbers([2]), { bucket: 'scratch' });
      await server.client.put('far', numbers([3]), { bucket: 'remote' });
      await server.client.put('prices', numbers([4]), { bucket: 'market' });
      expect((await server.client.buckets()).sort()).toEqual(['archive', 'market', 'remote', 'scratch']);
      expect((await server.client.list({ bucket: 'archive' })).map((frame) => frame.name)).toEqual(['old']);
      expect((await server.client.get('far', { bucket: 'remote' })).getChild('x')!.toArray()).toEqual(Float64Array.from([3]));

      const main = await filesUnder(join(workDirectory, 'main-data'));
      const archive = await filesUnder(join(workDirectory, 'archive-data'));
      const remote = await filesUnder(join(workDirectory, 'remote-data'));
      expect(main.some((file) => file.includes('prices'))).toBe(true);
      expect(main.some((file) => /old|tmp|far/.test(file))).toBe(false);
      expect(archive.some((file) => file.includes('old'))).toBe(true);
      expect(archive.some((file) => /prices|tmp|far/.test(file))).toBe(false);
      expect(remote.some((file) => file.includes('far'))).toBe(true);
      expect(remote.some((file) => /prices|tmp|old/.test(file))).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('lets flags override the file', async () => {
    await writeFile(join(workDirectory, 'override.json'), JSON.stringify({ port: 0, data: 'file-data' }));
    const server = await serve(['--config', 'override.json', '--data', 'flag-data']);
    try {
      await server.client.put('frame', numbers([1]));
    } finally {
      await server.stop();
    }
    expect((await filesUnder(join(workDirectory, 'flag-data'))).length).toBeGreaterThan(0);
    expect(await filesUnder(join(workDirectory, 'file-data'))).toEqual([]);
  });

  it('refuses an invalid file (here named by HANGAR_CONFIG) before starting, naming the key and the type it expects', async () => {
    await writeFile(join(workDirectory, 'bad.json'), JSON.stringify({ port: 'any', buckets: { archive: 3 }, colour: 'blue' }));
    const stderr = await serveFails([], { HANGAR_CONFIG: 'bad.json' });
    expect(stderr).toContain('invalid config file bad.json');
    expect(stderr).toContain('"port" must be an integer from 0 to 65535, got "any" (string)');
    expect(stderr).toContain('"buckets.archive" must be a store location string, got 3 (number)');
    expect(stderr).toContain('unknown key "colour"');
  });
});
