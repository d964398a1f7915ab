/** ListFlights, GetFlightInfo and GetSchema: what is stored, without moving data. */
import type { HangarEngine } from '../../core/engine.js';
import type { FrameInfo } from '../../core/frame-info.js';
import type { Schema } from 'apache-arrow';
import { encapsulateMessage, encodeSchemaHeader } from '../../format/ipc-message.js';
import { type SqlRequest, encodeSqlTicket, frameDescription, encodeTicketFor, parseCriteria, parseInfoDescriptor } from '../dataframe-protocol.js';
import {
  DescriptorType,
  decodeCriteria,
  decodeFlightDescriptor,
  encodeFlightInfo,
  encodeSchemaResult,
  type FlightDescriptor,
} from '../../flight/flight-messages.js';
import { isTimeTravel } from '../../core/version-selection.js';
import type { CallHandler } from '../transport/grpc-server.js';
import { unary } from './call-shapes.js';

/**
 * Builds the FlightInfo of a frame: PATH [name, bucket], one endpoint on this server. With
 * `pinned` its ticket reads exactly the version described (a past version asked for by time travel).
 */
export function frameFlightInfo(info: FrameInfo, pinned = false): Buffer {
  return encodeFlightInfo({
    appMetadata: Buffer.from(JSON.stringify(frameDescription(info)), 'utf8'),
    schema: encapsulateMessage({ header: info.schemaHeader, body: new Uint8Array(0) }),
    flightDescriptor: { type: DescriptorType.Path, path: [info.name, info.bucket] },
    endpoint: [{ ticket: { ticket: encodeTicketFor(info, pinned ? info.version : undefined) }, location: [] }],
    totalRecords: info.rows,
    totalBytes: info.bytes,
    ordered: true,
  });
}

/** ListFlights: one FlightInfo per frame of the bucket named by the criteria. */
export function listFlightsHandler(engine: HangarEngine): CallHandler {
  return async (call) => {
    const { bucket, regex, metadata } = parseCriteria(decodeCriteria(await call.request()).expression);
    for (const info of await engine.list(bucket, regex, metadata)) await call.write(frameFlightInfo(info));
  };
}

/**
 * Builds the FlightInfo of a query: its schema (the query is prepared, not run), the descriptor
 * as given, and one endpoint whose ticket runs it. Row and byte counts are unknown (-1).
 */
function queryFlightInfo(schema: Schema, descriptor: FlightDescriptor, request: SqlRequest): Buffer {
  return encodeFlightInfo({
    schema: encapsulateMessage({ header: encodeSchemaHeader(schema), body: new Uint8Array(0) }),
    flightDescriptor: descriptor,
    endpoint: [{ ticket: { ticket: encodeSqlTicket(request) }, location: [] }],
    totalRecords: -1,
    totalBytes: -1,
    ordered: true,
  });
}

/** GetFlightInfo: the FlightInfo of one frame, or of a query (CMD {"sql","bucket"}). */
export function getFlightInfoHandler(engine: HangarEngine): CallHandler {
  return unary(async (request) => {
    const descriptor = decodeFlightDescriptor(request);
    const target = parseInfoDescriptor(descriptor);
    if (target.kind === 'sql') return queryFlightInfo(await engine.querySchema(target.sql, target), descriptor, target);
    return frameFlightInfo(await engine.stat(target, target), isTimeTravel(target));
  });
}

/** GetSchema: the schema of one frame, or of a query's result. */
export function getSchemaHandler(engine: HangarEngine): CallHandler {
  return unary(async (request) => {
    const target = parseInfoDescriptor(decodeFlightDescriptor(request));
    const header = target.kind === 'sql' ? encodeSchemaHeader(await engine.querySchema(target.sql, target)) : (await engine.stat(target, target)).schemaHeader;
    return encodeSchemaResult(encapsulateMessage({ header, body: new Uint8Array(0) }));
  });
}
