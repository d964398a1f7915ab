// Debian's redis-server in a child process on a free 127.0.0.1 port, without persistence, in a
// temporary directory: the real Redis the Redis connector example (docs/examples) is tested on.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer } from './child-server.js';

/** A running redis-server. */
export interface RedisServer {
  /** Its URL, e.g. `redis://127.0.0.1:40123`. */
  readonly url: string;
  /** Stops the server (killing it if it does not stop) and removes its directory. */
  close(): Promise<void>;
}

/** A port no one listens on now (Redis has no "port 0"; another process could take it before Redis does). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Starts redis-server (from PATH; .ci/run installs Debian's) and resolves once it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'hangar-redis-'));
  const port = await freePort();
  const server = await startChildServer(
    'redis-server',
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    /Ready to accept connections/,
    { hint: "is it installed? .ci/run installs Debian's" },
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
