// The transport's ceiling for DoGet: the same FlightData streamed from memory by grpc-js (as
// Hangar's server sent it until it had its own transport), by a bare `node:http2` server speaking
// gRPC's framing itself (the 5-byte prefix and the FlightData fields written before the body, the
// body written as it lies), and by Hangar's own transport (src/server/transport) with its DoGet
// encoding. No storage, no engine: what each transport costs per byte. Started by
// bench/transport_ceiling.py, which drives them with a stock pyarrow client.
// Usage: node bench/transport_ceiling.mjs ROWS  (prints {"grpc", "http2", "hangar": port, …} and serves until killed)
import http2 from 'node:http2';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { Float64, Int32, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { encodeFlightData, encodeFlightDataPieces } from '../dist/flight/flight-data.js';
import { GrpcServer } from '../dist/server/transport/grpc-server.js';
import { splitIpcStream } from '../dist/format/ipc-message.js';
import { varintLength, writeVarint } from '../dist/flight/protobuf-wire.js';

const rows = Number(process.argv[2] ?? 10_000_000);
const BATCH_ROWS = 65_536;

/** The put_get frame's shape, dictionary column as its indices: ts, four float64, int32. */
function frameMessages() {
  const ts = BigInt64Array.from({ length: rows }, (_, i) => 1_700_000_000_000_000n + BigInt(i) * 1_000_000n);
  const floats = () => makeVector(Float64Array.from({ length: rows }, () => Math.random()));
  const table = new Table({
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: ts })),
    f0: floats(),
    f1: floats(),
    f2: floats(),
    f3: floats(),
    category: makeVector(makeData({ type: new Int32(), length: rows, data: Int32Array.from({ length: rows }, (_, i) => i % 100) })),
  });
  const batches = [];
  for (let start = 0; start < rows; start += BATCH_ROWS) batches.push(...table.slice(start, start + BATCH_ROWS).batches);
  // Copied out of the stream, so each body owns its memory as a cached segment's does.
  return splitIpcStream(tableToIPC(new Table(batches), 'stream')).map((m) => ({ header: m.header.slice(), body: m.body.slice() }));
}

const messages = frameMessages();
const DOGET = '/arrow.flight.protocol.FlightService/DoGet';

// grpc-js: FlightData encoded into one buffer, which grpc-js copies into its frame.
const grpcServer = new Server({ 'grpc.max_send_message_length': 2 ** 31 - 1, 'grpc.max_receive_message_length': 2 ** 31 - 1 });
grpcServer.addService(
  {
    DoGet: {
      path: DOGET,
      requestStream: false,
      responseStream: true,
      requestSerialize: (value) => value,
      requestDeserialize: (bytes) => bytes,
      responseSerialize: encodeFlightData,
      responseDeserialize: (bytes) => bytes,
    },
  },
  {
    DoGet: async (call) => {
      for (const message of messages) {
        const ok = call.write({ dataHeader: message.header, dataBody: message.body });
        if (!ok) await new Promise((resolve) => call.once('drain', resolve));
      }
      call.end();
    },
  },
);
const grpcPort = await new Promise((resolve, reject) =>
  grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
);

/**
 * The bytes before a FlightData's body on the wire: gRPC's prefix (flag, big-endian length), then
 * data_header (field 2) and the tag and length of data_body (field 1000).
 */
function lead(header, bodyLength) {
  const headerTag = 0x12; // field 2 (data_header), length-delimited
  const bodyTag = (1000 << 3) | 2; // field 1000 (data_body), length-delimited
  const fields = 1 + varintLength(header.byteLength) + header.byteLength + (bodyLength > 0 ? varintLength(bodyTag) + varintLength(bodyLength) : 0);
  const out = Buffer.allocUnsafe(5 + fields);
  out[0] = 0;
  out.writeUInt32BE(fields + bodyLength, 1);
  let at = writeVarint(out, 5, headerTag);
  at = writeVarint(out, at, header.byteLength);
  out.set(header, at);
  at += header.byteLength;
  if (bodyLength > 0) writeVarint(out, writeVarint(out, at, bodyTag), bodyLength);
  return out;
}

// node:http2: the same bytes without the copy into a frame; the body goes to the socket as it lies.
const http2Server = http2.createServer();
http2Server.on('stream', (stream, headers) => {
  if (headers[':path'] !== DOGET) {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
    return;
  }
  stream.on('data', () => undefined);
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  (async () => {
    for (const message of messages) {
      stream.write(lead(message.header, message.body.byteLength));
      if (message.body.byteLength > 0 && !stream.write(message.body)) await new Promise((resolve) => stream.once('drain', resolve));
    }
    stream.end();
  })().catch((error) => stream.destroy(error));
});
await new Promise((resolve) => http2Server.listen(0, '127.0.0.1', resolve));

// Hangar's transport, as its DoGet handler writes.
const hangar = await GrpcServer.listen('127.0.0.1', 0, {
  handlers: new Map([
    [
      DOGET,
      async (call) => {
        await call.request();
        for (const message of messages) await call.write(encodeFlightDataPieces({ dataHeader: message.header, dataBody: message.body }));
      },
    ],
  ]),
  toStatus: (error) => ({ code: 13, message: String(error) }),
  maxMessageBytes: 1 << 20,
  idleTimeoutMs: 600_000,
});

const bytes = messages.reduce((sum, m) => sum + m.header.byteLength + m.body.byteLength, 0);
console.log(JSON.stringify({ grpc: grpcPort, http2: http2Server.address().port, hangar: hangar.port, bytes, messages: messages.length }));
