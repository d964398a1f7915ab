/** ListFlights, GetFlightInfo and GetSchema: what is stored, without moving data. */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { HangarEngine } from '../../core/engine.js';
import type { FrameInfo } from '../../core/frame-info.js';
import { encapsulateMessage } from '../../core/ipc-message.js';
import { encodeTicketFor, frameFromDescriptor, parseCriteria } from '../dataframe-protocol.js';
import {
  DescriptorType,
  decodeCriteria,
  decodeFlightDescriptor,
  encodeFlightInfo,
  encodeSchemaResult,
} from '../../flight/flight-messages.js';
import { streaming, unary, writeWithBackpressure } from './call-io.js';

/** Builds the FlightInfo of a frame: PATH [name, bucket], one endpoint on this server. */
export function frameFlightInfo(info: FrameInfo): Buffer {
  return encodeFlightInfo({
    schema: encapsulateMessage({ header: info.schemaHeader, body: new Uint8Array(0) }),
    flightDescriptor: { type: DescriptorType.Path, path: [info.name, info.bucket] },
    endpoint: [{ ticket: { ticket: encodeTicketFor(info) }, location: [] }],
    totalRecords: info.rows,
    totalBytes: info.bytes,
    ordered: true,
  });
}

/** ListFlights: one FlightInfo per frame of the bucket named by the criteria. */
export function listFlightsHandler(engine: HangarEngine) {
  return streaming(async (call: ServerWritableStream<Buffer, Buffer>) => {
    const { bucket, regex } = parseCriteria(decodeCriteria(call.request).expression);
    for (const info of await engine.list(bucket, regex)) await writeWithBackpressure(call, frameFlightInfo(info));
  });
}

/** GetFlightInfo: the FlightInfo of one frame. */
export function getFlightInfoHandler(engine: HangarEngine) {
  return unary<Buffer>(async (request) => frameFlightInfo(await engine.stat(frameFromDescriptor(decodeFlightDescriptor(request)))));
}

/** GetSchema: the schema of one frame. */
export function getSchemaHandler(engine: HangarEngine) {
  return unary<Buffer>(async (request) => {
    const info = await engine.stat(frameFromDescriptor(decodeFlightDescriptor(request)));
    return encodeSchemaResult(encapsulateMessage({ header: info.schemaHeader, body: new Uint8Array(0) }));
  });
}
