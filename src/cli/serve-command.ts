/** `hangar serve`: runs the server until SIGINT/SIGTERM or the shutdown action. */
import { HangarServer } from '../server/hangar-server.js';

/** Options of `hangar serve`, after defaults from the environment. */
export interface ServeOptions {
  /** Interface to bind. */
  readonly host: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Store location. */
  readonly data: string;
}

/** Starts the server, prints its location, and shuts down gracefully on signals. */
export async function serve(options: ServeOptions): Promise<void> {
  const server = await HangarServer.start(options);
  const stop = (signal: string): void => {
    process.stderr.write(`hangar: ${signal} received, shutting down\n`);
    void server.close();
  };
  // Handlers go in before the listening line: whoever reads that line may signal at once.
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.stdout.write(`hangar listening on ${server.location}\n`);
  await server.closed;
  // Everything is closed; grpc-js may still hold a timer for a client that has not hung up yet,
  // which would keep the process alive for seconds.
  process.exit(0);
}
