// Issue 22's commands of the `hangar` CLI, run as subprocesses (node dist/cli/main.js) against an
// in-process server: snapshot create/list/delete, update, delete-range, get --tail/--snapshot,
// sql --snapshot, stat --snapshot and put --schema evolve; every result checked through the client.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Int32, Table, TimestampMillisecond, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');

/** Rebuilds dist when a source file is newer than the CLI entry (tsc emits even when another module fails to type-check). */
async function ensureBuilt(): Promise<void> {
  const built = existsSync(MAIN) ? statSync(MAIN).mtimeMs : 0;
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((entry) => (entry.isDirectory() ? newest(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs)));
  if (newest(join(ROOT, 'src')) > built) await run('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT }).catch(() => undefined);
}

let server: HangarServer;
let client: HangarClient;
let dir: string;

async function hangar(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args, '--server', server.location], { cwd: dir, env: { ...process.env, HANGAR_SERVER: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const BASE = Date.UTC(2024, 0, 1);
const iso = (t: number): string => new Date(BASE + t * 1000).toISOString();
function tableOf(times: number[], x: (t: number) => number, note?: (t: number) => string): Table {
  return new Table({
    ts: vectorFromArray(times.map((t) => BASE + t * 1000), new TimestampMillisecond()),
    x: vectorFromArray(times.map(x), new Int32()),
    ...(note ? { note: vectorFromArray(times.map(note), new Utf8()) } : {}),
  });
}
const xs = (table: Table): number[] => Array.from({ length: table.numRows }, (_, i) => table.getChild('x')!.get(i) as number);
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hangar-cli22-'));
  server = await HangarServer.start({ host: '127.0.0.1', port: 0, data: 'memory:' });
  client = HangarClient.connect(server.location);
}, 180_000);
afterAll(async () => {
  client.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('hangar CLI: snapshots, update, delete-range, tail, evolve', () => {
  it('runs each command and the frame changes as the same operation on an array', async () => {
    const o = { bucket: 'cli' };
    await client.put('f', tableOf(range(0, 10), (t) => t), o);
    let model = range(0, 10);

    const created = await hangar(['snapshot', 'create', 'before', '--bucket', 'cli']);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/snapshot cli\/before holds 1 frame/);

    await writeFile(join(dir, 'fix.arrow'), tableToIPC(tableOf([3, 4], (t) => 100 + t), 'file'));
    const updated = await hangar(['update', 'fix.arrow', 'f', '--bucket', 'cli', '--start', iso(2), '--end', iso(6)]);
    expect(updated.stdout).toMatch(/4 rows replaced by 2, 1 segment\(s\) rewritten/);
    model = [0, 1, 103, 104, 6, 7, 8, 9];
    expect(xs(await client.get('f', o))).toEqual(model);

    const removed = await hangar(['delete-range', 'f', '--bucket', 'cli', '--start', iso(7), '--end', iso(9)]);
    expect(removed.stdout).toMatch(/removed 2 rows/);
    model = model.filter((x) => x !== 7 && x !== 8);
    expect(xs(await client.get('f', o))).toEqual(model);
    expect((await hangar(['delete-range', 'f', '--bucket', 'cli', '--start', iso(7)])).code).toBe(2);

    expect((await hangar(['get', 'f', '--bucket', 'cli', '--tail', '2', '-o', 'tail.arrow'])).code).toBe(0);
    expect(xs(tableFromIPC(await readFile(join(dir, 'tail.arrow'))))).toEqual(model.slice(-2));
    expect((await hangar(['get', 'f', '--bucket', 'cli', '--snapshot', 'before', '-o', 'old.arrow'])).code).toBe(0);
    expect(xs(tableFromIPC(await readFile(join(dir, 'old.arrow'))))).toEqual(range(0, 10));
    const sql = await hangar(['sql', 'SELECT sum(x) AS s FROM f', '--bucket', 'cli', '--snapshot', 'before', '-o', 'sum.arrow']);
    expect(sql.code).toBe(0);
    expect(Number(tableFromIPC(await readFile(join(dir, 'sum.arrow'))).getChild('s')!.get(0))).toBe(45);
    const stat = JSON.parse((await hangar(['stat', 'f', '--bucket', 'cli', '--snapshot', 'before', '--json'])).stdout) as { rows: number; version: number };
    expect(stat).toMatchObject({ rows: 10, version: 1 });

    const listed = JSON.parse((await hangar(['snapshot', 'list', '--bucket', 'cli', '--json'])).stdout) as { name: string; frames: Record<string, number> }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'before', frames: { f: 1 } })]);
    expect((await hangar(['snapshot', 'list', '--bucket', 'cli'])).stdout).toMatch(/before .* 1 +f@1/);
    expect((await hangar(['snapshot', 'delete', 'before', '--bucket', 'cli'])).stdout).toMatch(/deleted snapshot cli\/before/);
    expect((await hangar(['snapshot', 'delete', 'before', '--bucket', 'cli'])).code).toBe(3);

    await writeFile(join(dir, 'wider.arrow'), tableToIPC(tableOf([20, 21], (t) => t, (t) => `n${t}`), 'file'));
    expect((await hangar(['put', 'wider.arrow', 'f', '--bucket', 'cli', '--mode', 'append'])).code).not.toBe(0);
    expect((await hangar(['put', 'wider.arrow', 'f', '--bucket', 'cli', '--mode', 'append', '--schema', 'evolve'])).code).toBe(0);
    const evolved = await client.get('f', o);
    expect(xs(evolved)).toEqual([...model, 20, 21]);
    expect([...evolved.getChild('note')!]).toEqual([...model.map(() => null), 'n20', 'n21']);
    // Fourteen CLI processes, each starting Node: a loaded machine takes seconds for each.
  }, 240_000);
});
