// Protobuf decoding of Flight's request messages: Hangar's decoders (src/flight/, as built in dist/;
// since the A/B in docs/design/protobuf-decoding.md they read fields with @bufbuild/protobuf's
// BinaryReader) against the same decoding written inline on BinaryReader, i.e. the cost of
// Hangar's field-list step. Needs `npm run build`.
// Usage: node bench/protobuf_decode.mjs [ROUNDS]
// Prints, per message shape, the median nanoseconds per decode over ROUNDS interleaved rounds
// (default 9) and the B/A ratio; the spread of the rounds is the noise.
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { decodeFlightData, encodeFlightData } from '../dist/flight/flight-data.js';
import { decodeFlightDescriptor, decodeTicket, encodeFlightDescriptor, encodeTicket } from '../dist/flight/flight-messages.js';

const rounds = Number(process.argv[2] ?? 9);

/** decodeFlightDescriptor, written on BinaryReader. */
function bufDescriptor(bytes) {
  const reader = new BinaryReader(bytes);
  const descriptor = { type: 0, path: [] };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.Varint) descriptor.type = Number(reader.int64());
    else if (field === 2 && wireType === WireType.LengthDelimited) descriptor.cmd = reader.bytes();
    else if (field === 3 && wireType === WireType.LengthDelimited) descriptor.path.push(reader.string());
    else reader.skip(wireType, field);
  }
  return descriptor;
}

/** decodeFlightData, written on BinaryReader. */
function bufFlightData(bytes) {
  const reader = new BinaryReader(bytes);
  const data = {};
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (wireType !== WireType.LengthDelimited) {
      reader.skip(wireType, field);
      continue;
    }
    const value = reader.bytes();
    if (field === 1) data.flightDescriptor = bufDescriptor(value);
    else if (field === 2) data.dataHeader = value;
    else if (field === 3) data.appMetadata = value;
    else if (field === 1000) data.dataBody = value;
  }
  return data;
}

/** decodeTicket, written on BinaryReader. */
function bufTicket(bytes) {
  const reader = new BinaryReader(bytes);
  let ticket = new Uint8Array(0);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) ticket = reader.bytes();
    else reader.skip(wireType, field);
  }
  return { ticket };
}

const join = (pieces) => Buffer.concat(pieces.map((piece) => Buffer.from(piece)));
const header = new Uint8Array(312).fill(7);
const descriptor = { type: 1, path: ['prices'], cmd: Buffer.from('{"bucket":"market","mode":"append"}') };
const shapes = {
  'FlightData, first of a put (descriptor, 312 B header, 3 MB body)': [
    join([encodeFlightData({ flightDescriptor: descriptor, dataHeader: header, dataBody: new Uint8Array(3 << 20) })]),
    decodeFlightData,
    bufFlightData,
  ],
  'FlightData, batch (312 B header, 3 MB body)': [
    join([encodeFlightData({ dataHeader: header, dataBody: new Uint8Array(3 << 20) })]),
    decodeFlightData,
    bufFlightData,
  ],
  'FlightDescriptor (path + JSON cmd)': [encodeFlightDescriptor(descriptor), decodeFlightDescriptor, bufDescriptor],
  'Ticket (80 B JSON)': [encodeTicket({ ticket: Buffer.from('{"name":"prices","bucket":"market","columns":["ts","px"],"limit":100}') }), decodeTicket, bufTicket],
};

function nsPerDecode(decode, bytes) {
  const iterations = 200_000;
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += decode(bytes) ? 1 : 0;
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink !== iterations) throw new Error('decode returned nothing');
  return elapsed / iterations;
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

console.log(`protobuf decode A/B, ${rounds} interleaved rounds of 200,000 decodes; ns per decode: median [min-max]`);
for (const [name, [bytes, own, library]] of Object.entries(shapes)) {
  // Both decoders must see the same fields before they are timed.
  const a = own(bytes);
  const b = library(bytes);
  if ((a.dataBody?.byteLength ?? 0) !== (b.dataBody?.byteLength ?? 0)) throw new Error(`${name}: decoders disagree`);
  const ownTimes = [];
  const libraryTimes = [];
  nsPerDecode(own, bytes);
  nsPerDecode(library, bytes);
  for (let round = 0; round < rounds; round++) {
    ownTimes.push(nsPerDecode(own, bytes));
    libraryTimes.push(nsPerDecode(library, bytes));
  }
  const range = (times) => `${median(times).toFixed(0)} [${Math.min(...times).toFixed(0)}-${Math.max(...times).toFixed(0)}]`;
  console.log(`${name}\n  Hangar ${range(ownTimes)}  inline BinaryReader ${range(libraryTimes)}  ratio ${(median(libraryTimes) / median(ownTimes)).toFixed(2)}`);
}
