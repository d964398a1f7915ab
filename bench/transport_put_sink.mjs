// DoPut's transport alone, for A/B runs of the gRPC server's request path (framing, reassembly):
// Hangar's own transport from the given build (a dist/ directory) serves DoPut by reading every
// message and counting its bytes; no engine, no storage. Driven by bench/transport_put_ab.py.
// Usage: node bench/transport_put_sink.mjs DIST_DIR  (prints the port, serves until killed)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? 'dist');
const { GrpcServer } = await import(pathToFileURL(`${dist}/server/transport/grpc-server.js`).href);
const DOPUT = '/arrow.flight.protocol.FlightService/DoPut';

const server = await GrpcServer.listen('127.0.0.1', 0, {
  handlers: new Map([
    [
      DOPUT,
      async (call) => {
        let bytes = 0;
        for await (const message of call.messages()) bytes += message.byteLength;
        call.setTrailers({ 'x-bytes': String(bytes) });
      },
    ],
  ]),
  toStatus: (error) => ({ code: 13, message: String(error) }),
  maxMessageBytes: 2 ** 31 - 1,
  idleTimeoutMs: 600_000,
});
process.stdout.write(`${server.port}\n`);
process.on('SIGTERM', () => process.exit(0));
