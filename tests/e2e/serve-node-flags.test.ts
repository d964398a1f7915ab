// `node dist/cli/main.js serve` started WITHOUT V8 flags runs its server with the tuned ones
// (src/cli/node-flags.ts), keeps flags the user gave, and stops and exits like a single process.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Node's arguments of a live process, from /proc. */
async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((arg) => arg !== '');
}

/** The pids of a process's children, from /proc. */
async function children(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return text.split(/\s+/).filter((word) => word !== '').map(Number);
}

async function serve(nodeFlags: string[], env: Record<string, string> = {}) {
  const data = await mkdtemp(join(tmpdir(), 'hangar-node-flags-'));
  dirs.push(data);
  const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, [...nodeFlags, CLI, 'serve', '--port', '0', '--data', data], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  expect(line).toMatch(/^hangar listening on grpc:\/\/127\.0\.0\.1:\d+$/);
  return { child, pid: child.pid!, location: line.replace('hangar listening on ', ''), exited, stderr: () => stderr };
}

/** The one process that serves: the started one, or the Node it re-executed. */
async function serverProcess(pid: number): Promise<{ pid: number; argv: string[] }> {
  const kids = await children(pid);
  const serverPid = kids.length === 0 ? pid : kids[0]!;
  expect(kids.length).toBeLessThanOrEqual(1);
  return { pid: serverPid, argv: await commandLine(serverPid) };
}

describe('hangar serve started without V8 flags', () => {
  it('runs its server in a Node started with the tuned flags, and exits 0 on SIGTERM', async () => {
    const { child, pid, location, exited } = await serve([]);
    expect((await commandLine(pid)).slice(1, 3)).toEqual([CLI, 'serve']); // started as a user would: no flags
    const server = await serverProcess(pid);
    expect(server.pid).not.toBe(pid);
    const nodeArgs = server.argv.slice(1, server.argv.indexOf(CLI));
    expect(nodeArgs).toEqual(['--single-threaded-gc', '--initial-old-space-size=256']);
    expect(server.argv.slice(server.argv.indexOf(CLI))).toEqual([CLI, 'serve', '--port', '0', '--data', expect.any(String)]);
    // That process is the server: it answers,.
    const client = HangarClient.connect(location);
    try {
      expect(await client.list()).toEqual([]);
    } finally {
      client.close();
    }
    child.kill('SIGTERM'); // to the started process, as a supervisor or `docker stop` would
    expect(await exited).toBe(0);
    await expect(readFile(`/proc/${server.pid}/cmdline`)).rejects.toThrow(/ENOENT/);
  });

  it('takes its server down with it when it is killed with SIGKILL (which it cannot pass on)', async () => {
    const { child, pid, exited } = await serve([]);
    const server = await serverProcess(pid);
    expect(server.pid).not.toBe(pid);
    child.kill('SIGKILL');
    await exited;
    // The server notices its launcher's IPC channel closing and kills itself; wait for /proc to say so.
    for (let tries = 0; tries < 300; tries++) {
      const alive = await readFile(`/proc/${server.pid}/cmdline`).then((bytes) => bytes.length > 0, () => false);
      if (!alive) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`server ${server.pid} still runs 30 s after its launcher was killed`);
  });

  it('passes SIGINT on when no terminal is attached', async () => {
    const { child, exited } = await serve([]);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it("keeps the user's own value of a tuned flag and adds only the missing one", async () => {
    const { child, pid, exited } = await serve(['--initial-old-space-size=512']);
    const server = await serverProcess(pid);
    expect(server.pid).not.toBe(pid);
    const nodeArgs = server.argv.slice(1, server.argv.indexOf(CLI));
    expect(nodeArgs).toEqual(['--initial-old-space-size=512', '--single-threaded-gc']);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('serves in the started process when the flags are there already, or with HANGAR_NODE_RELAUNCH=0', async () => {
    for (const [flags, env] of [
      [['--single-threaded-gc', '--initial-old-space-size=256'], {}],
      [[], { HANGAR_NODE_RELAUNCH: '0' }],
    ] as const) {
      const { child, pid, exited } = await serve([...flags], env);
      expect(await children(pid)).toEqual([]);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it("exits with the server's exit code and message when it cannot start", async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', 'not-a-port'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/port/i);
  });
});
