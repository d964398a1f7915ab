/**
 * What every client command shares: the --server option, credentials (token, user and password,
 * TLS certificates) and a client closed when the command ends.
 */
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { HangarClient, defaultServerLocation } from '../client/hangar-client.js';

/** Options every client command takes. */
export interface ServerOptions {
  /** The server's location, e.g. grpc://127.0.0.1:8815. */
  readonly server: string;
  /** A bearer token (env HANGAR_TOKEN). */
  readonly token?: string;
  /** A user to log in as with Handshake; the password comes from env HANGAR_PASSWORD. */
  readonly user?: string;
  /** PEM file of the CA that signed the server's certificate (env HANGAR_TLS_ROOT_CERT). */
  readonly tlsRootCert?: string;
  /** PEM client certificate for mutual TLS. */
  readonly tlsClientCert?: string;
  /** PEM key of the client certificate. */
  readonly tlsClientKey?: string;
  /** The name to expect in the server's certificate. */
  readonly tlsServerName?: string;
}

/** Adds `--server` (default env HANGAR_SERVER, else grpc://127.0.0.1:8815) and the credential options to a command. */
export function withServerOption(command: Command): Command {
  return command
    .option('--server <uri>', 'Flight server to talk to, grpc:// or grpc+tls:// (env HANGAR_SERVER)', defaultServerLocation())
    .option('--token <jwt>', 'bearer token sent with every call (env HANGAR_TOKEN)', process.env.HANGAR_TOKEN)
    .option('--user <name>', 'log in as this user first; the password is read from env HANGAR_PASSWORD')
    .option('--tls-root-cert <file>', "PEM CA certificate to trust for the server's certificate (env HANGAR_TLS_ROOT_CERT)", process.env.HANGAR_TLS_ROOT_CERT)
    .option('--tls-client-cert <file>', 'PEM client certificate, for servers that require mutual TLS')
    .option('--tls-client-key <file>', 'PEM private key of the client certificate')
    .option('--tls-server-name <name>', "name the server's certificate must carry, if not the host connected to");
}

/** Runs `body` with a client for the server, closing it afterwards so the process can exit. */
export async function withClient<T>(options: ServerOptions, body: (client: HangarClient) => Promise<T>): Promise<T> {
  const file = (path: string | undefined): Buffer | undefined => (path === undefined ? undefined : readFileSync(path));
  const rootCertificates = file(options.tlsRootCert);
  const certChain = file(options.tlsClientCert);
  const privateKey = file(options.tlsClientKey);
  const client = HangarClient.connect(options.server, {
    ...(options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {}),
    ...(rootCertificates ? { rootCertificates } : {}),
    ...(certChain ? { certChain } : {}),
    ...(privateKey ? { privateKey } : {}),
    ...(options.tlsServerName ? { serverNameOverride: options.tlsServerName } : {}),
  });
  try {
    if (options.user !== undefined) await client.flight.authenticateBasicToken(options.user, process.env.HANGAR_PASSWORD ?? '');
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
