/** What every client command shares: the --server option and a client closed when the command ends. */
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { HangarClient, defaultServerLocation } from '../client/hangar-client.js';

/** Options every client command takes. */
export interface ServerOptions {
  /** The server's location, e.g. grpc://127.0.0.1:8815. */
  readonly server: string;
}

/** Adds `--server` (default env HANGAR_SERVER, else grpc://127.0.0.1:8815) to a command. */
export function withServerOption(command: Command): Command {
  return command.option('--server <uri>', 'Flight server to talk to (env HANGAR_SERVER)', defaultServerLocation());
}

/** Runs `body` with a client for the server, closing it afterwards so the process can exit. */
export async function withClient<T>(options: ServerOptions, body: (client: HangarClient) => Promise<T>): Promise<T> {
  const client = HangarClient.connect(options.server);
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

/**
 * Writes to a stream, waiting while its buffer is full. Rejects if the stream failed or closed,
 * before or during the wait (e.g. EPIPE, a full disk), rather than waiting for a drain that
 * never comes.
 */
export async function writeTo(stream: Writable, text: string | Uint8Array): Promise<void> {
  if (stream.errored) throw stream.errored;
  if (stream.destroyed) throw new Error('the output closed early');
  if (stream.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('error', settle);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onClose = (): void => settle(stream.errored ?? new Error('the output closed early'));
    stream.on('drain', onDrain);
    stream.on('error', settle);
    stream.on('close', onClose);
  });
}
