// `hangar serve` as a process: the listening line, environment defaults and graceful signals.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
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

async function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, line, exited };
}

describe('hangar serve', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('prints its location and exits cleanly on %s', async (signal) => {
    const data = await mkdtemp(join(tmpdir(), 'hangar-serve-'));
    dirs.push(data);
    const { child, line, exited } = await start(['--port', '0', '--data', data]);
    expect(line).toMatch(/^hangar listening on grpc:\/\/127\.0\.0\.1:\d+$/);
    expect((await stat(data)).isDirectory()).toBe(true);
    child.kill(signal);
    expect(await exited).toBe(0);
  });

  it('takes its settings from HANGAR_* environment variables', async () => {
    const data = await mkdtemp(join(tmpdir(), 'hangar-serve-env-'));
    dirs.push(data);
    const { child, line, exited } = await start([], { HANGAR_HOST: '127.0.0.1', HANGAR_PORT: '0', HANGAR_DATA: `${data}/store` });
    expect(line).toMatch(/^hangar listening on grpc:\/\/127\.0\.0\.1:\d+$/);
    expect((await stat(`${data}/store`)).isDirectory()).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('applies --sql-timeout to queries', async () => {
    const data = await mkdtemp(join(tmpdir(), 'hangar-serve-sql-'));
    dirs.push(data);
    const { child, line, exited } = await start(['--port', '0', '--data', data, '--sql-timeout', '300']);
    const client = HangarClient.connect(line.replace('hangar listening on ', ''));
    try {
      const started = Date.now();
      await expect(client.query('SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3')).rejects.toThrow(/SQL timeout of 300 ms/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      client.close();
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a malformed --sql-memory-limit before starting', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--sql-memory-limit', 'lots'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/a memory size is a number and a unit/);
  });

  it('refuses an invalid port with a clear message', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '99999'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/port is an integer from 0 to 65535/);
  });
});
