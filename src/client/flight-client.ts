/**
 * FlightClient: a generic Arrow Flight client (any Flight server, not only Hangar) over Hangar's
 * own gRPC client transport (transport/grpc-channel.ts), with Flight messages encoded by hand and
 * data moved as apache-arrow RecordBatches.
 */
import type { Schema } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';
import { decodeEncapsulatedSchema } from '../format/ipc-message.js';
import { encodeFlightDataPieces } from '../flight/flight-data.js';
import { FLIGHT_SERVICE_NAME, type FlightMethod } from '../flight/flight-service.js';
import {
  type ActionType,
  DescriptorType,
  EMPTY_MESSAGE,
  type FlightDescriptor,
  type FlightInfo,
  type Ticket,
  decodeActionType,
  decodeFlightInfo,
  decodePutResult,
  decodeResult,
  decodeSchemaResult,
  encodeAction,
  encodeCriteria,
  encodeFlightDescriptor,
  encodeTicket,
} from '../flight/flight-messages.js';
import { type ErrorContext, toClientError } from './error-mapping.js';
import { type RecordBatchSource, encodeIpcMessages } from '../format/ipc-encoder.js';
import { parseLocation } from './location.js';
import { FlightRecordBatchStream } from './record-batch-stream.js';
import { FlightResultStream } from './result-stream.js';
import { type ClientCall, GrpcChannel } from './transport/grpc-channel.js';

/** Options of {@link FlightClient.connect}. */
export interface FlightClientOptions {
  /** Headers (gRPC metadata) sent with every call, e.g. an authorization token. */
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM root certificates for grpc+tls:// (default: the system's). */
  readonly rootCertificates?: Buffer;
  /** PEM client certificate chain, for servers that require mutual TLS (with {@link privateKey}). */
  readonly certChain?: Buffer;
  /** PEM private key of {@link certChain}. */
  readonly privateKey?: Buffer;
  /** The name the server's certificate must carry, when it differs from the host connected to. */
  readonly serverNameOverride?: string;
  /** Largest record batch body DoPut sends in one message; bigger batches are sliced (default 4 MiB). */
  readonly maxBatchBytes?: number;
  /**
   * Ping the connection this often (ms) to find a dead one; off by default. Against servers other
   * than Hangar keep it at 5 minutes or more, or they may close the connection for pinging too often.
   */
  readonly keepaliveIntervalMs?: number;
  /** A keepalive ping unanswered this long (ms, default 20 s) closes the connection; the next call opens a new one. */
  readonly keepaliveTimeoutMs?: number;
}

/** Per-call options. */
export interface FlightCallOptions {
  /** Cancels the call when it aborts. */
  readonly signal?: AbortSignal;
  /** Fails the call with DEADLINE_EXCEEDED after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Headers for this call, added to the client's. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A FlightInfo with its schema decoded. */
export type FlightInfoResult = Omit<FlightInfo, 'schema'> & {
  /** The dataset's schema, or undefined when the server sent none. */
  readonly schema: Schema | undefined;
  /** The schema as sent: an encapsulated IPC Schema message. */
  readonly schemaBytes: Uint8Array;
};

/** Anything DoGet accepts as a ticket. Strings are sent as UTF-8. */
export type TicketInput = Ticket | Uint8Array | string;

const MiB = 1024 * 1024;
const utf8 = new TextEncoder();

/** Builds a PATH descriptor. */
export function pathDescriptor(...path: string[]): FlightDescriptor {
  return { type: DescriptorType.Path, path };
}

/** Builds a CMD descriptor; strings are sent as UTF-8. */
export function commandDescriptor(cmd: Uint8Array | string): FlightDescriptor {
  return { type: DescriptorType.Cmd, cmd: typeof cmd === 'string' ? utf8.encode(cmd) : cmd };
}

function toBytes(value: Uint8Array | string | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  return typeof value === 'string' ? utf8.encode(value) : value;
}

/** Reads every reply of a call. */
async function collect(call: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const reply of call) out.push(reply);
  return out;
}

function withDecodedSchema(info: FlightInfo): FlightInfoResult {
  const { schema: schemaBytes, ...rest } = info;
  return { ...rest, schemaBytes, schema: schemaBytes.byteLength > 0 ? decodeEncapsulatedSchema(schemaBytes) : undefined };
}

/** A connection to one Flight server. Calls may run concurrently; close it when done. */
export class FlightClient {
  private readonly context: ErrorContext;
  private bearer: string | undefined;

  private constructor(
    private readonly channel: GrpcChannel,
    /** The server's location, e.g. `grpc://127.0.0.1:8815`. */
    readonly location: string,
    private readonly options: FlightClientOptions,
  ) {
    this.context = { location };
  }

  /**
   * Creates a client for `grpc://HOST:PORT`, `grpc+tcp://…` or `grpc+tls://…`. The connection is
   * made lazily: an unreachable server shows up as an error of the first call.
   * @throws InvalidArgumentError for a malformed location
   */
  static connect(location: string, options: FlightClientOptions = {}): FlightClient {
    const target = parseLocation(location);
    const tls = target.tls
      ? {
          ...(options.rootCertificates ? { ca: options.rootCertificates } : {}),
          ...(options.certChain ? { cert: options.certChain } : {}),
          ...(options.privateKey ? { key: options.privateKey } : {}),
          ...(options.serverNameOverride ? { servername: options.serverNameOverride } : {}),
        }
      : undefined;
    const keepalive = {
      ...(options.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: options.keepaliveIntervalMs } : {}),
      ...(options.keepaliveTimeoutMs !== undefined ? { keepaliveTimeoutMs: options.keepaliveTimeoutMs } : {}),
    };
    return new FlightClient(new GrpcChannel(target.address, tls, keepalive), target.uri, options);
  }

  /** Starts a call with the client's headers (and login), the call's own, its deadline and signal. */
  private start(method: FlightMethod, options: FlightCallOptions, extraHeaders: Readonly<Record<string, string>> = {}): ClientCall {
    const login: Record<string, string> = this.bearer === undefined ? {} : { authorization: this.bearer };
    return this.channel.start(`/${FLIGHT_SERVICE_NAME}/${method}`, {
      headers: { ...this.options.headers, ...login, ...options.headers, ...extraHeaders },
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.signal ? { signal: options.signal } : {}),
      mapError: (failure) => toClientError(failure, this.context),
    });
  }

  /**
   * Logs in with a user name and password as pyarrow's `authenticate_basic_token` does: a
   * Handshake carrying `authorization: Basic …`, answered with `authorization: Bearer …` (read from
   * the trailers, else the headers). Later calls of this client send that header.
   * @returns the `Bearer …` header value
   * @throws UnauthenticatedError for wrong credentials; InvalidArgumentError if no token came back
   */
  async authenticateBasicToken(user: string, password: string, options: FlightCallOptions = {}): Promise<string> {
    const call = this.start('Handshake', options, { authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` });
    call.end();
    await collect(call);
    const bearer = [call.trailers?.get('authorization'), call.replyHeaders?.get('authorization')].find((value) => value !== undefined && /^Bearer\s/i.test(value));
    if (!bearer) throw new InvalidArgumentError(`the Flight server at ${this.location} answered the login without an "authorization: Bearer" header`);
    this.bearer = bearer;
    return bearer;
  }

  /** Starts a call with one request message, its replies to be read. */
  private serverStream(method: FlightMethod, request: Uint8Array, options: FlightCallOptions): ClientCall {
    const call = this.start(method, options);
    // The request is small: it is buffered at once, and a failure surfaces when reading.
    call.write(request).catch(() => undefined);
    call.end();
    return call;
  }

  private async unary(method: FlightMethod, request: Uint8Array, options: FlightCallOptions): Promise<Buffer> {
    const replies = await collect(this.serverStream(method, request, options));
    if (replies.length !== 1) throw new InvalidArgumentError(`the Flight server at ${this.location} answered ${method} with ${replies.length} messages, not one`);
    return replies[0]!;
  }

  /**
   * Lists the server's flights. `criteria` is passed through as the Criteria expression (strings
   * as UTF-8); its meaning is the server's.
   */
  listFlights(criteria?: Uint8Array | string, options: FlightCallOptions = {}): FlightResultStream<FlightInfoResult> {
    const call = this.serverStream('ListFlights', encodeCriteria({ expression: toBytes(criteria) }), options);
    return FlightResultStream.map(call, (raw) => withDecodedSchema(decodeFlightInfo(raw)));
  }

  /** Describes one flight: schema, endpoints (with tickets), sizes. */
  async getFlightInfo(descriptor: FlightDescriptor, options: FlightCallOptions = {}): Promise<FlightInfoResult> {
    return withDecodedSchema(decodeFlightInfo(await this.unary('GetFlightInfo', encodeFlightDescriptor(descriptor), options)));
  }

  /** Returns one flight's schema. */
  async getSchema(descriptor: FlightDescriptor, options: FlightCallOptions = {}): Promise<Schema> {
    const bytes = decodeSchemaResult(await this.unary('GetSchema', encodeFlightDescriptor(descriptor), options));
    return decodeEncapsulatedSchema(bytes);
  }

  /**
   * Redeems a ticket. The call starts at once; read the batches with `for await`, or the whole
   * stream with `readAll()`. Server errors surface when reading.
   */
  doGet(ticket: TicketInput, options: FlightCallOptions = {}): FlightRecordBatchStream {
    const value: Ticket = ticket instanceof Uint8Array || typeof ticket === 'string' ? { ticket: toBytes(ticket) } : ticket;
    const call = this.serverStream('DoGet', encodeTicket(value), options);
    return new FlightRecordBatchStream(call);
  }

  /**
   * Uploads record batches under a descriptor and returns the app_metadata of each PutResult the
   * server answered. Batches are sent one message at a time and only as fast as the server takes
   * them; batches bigger than `maxBatchBytes` are sliced. If the source throws, the call is
   * cancelled and the source's error rethrown.
   */
  async doPut(descriptor: FlightDescriptor, source: RecordBatchSource, options: FlightCallOptions = {}): Promise<Uint8Array[]> {
    const call = this.start('DoPut', options);
    const results = collect(call);
    results.catch(() => undefined); // awaited below; this only silences an early rejection
    const maxBatchBytes = this.options.maxBatchBytes ?? 4 * MiB;
    try {
      let first = true;
      for await (const message of encodeIpcMessages(source, maxBatchBytes)) {
        if (call.error) throw call.error;
        // The batch's buffers go out as they lie; only the fields before them are encoded.
        await call.write(encodeFlightDataPieces({ flightDescriptor: first ? descriptor : undefined, dataHeader: message.header, dataBody: message.bodyParts }));
        first = false;
      }
      call.end();
      return (await results).map((raw) => decodePutResult(raw));
    } catch (error) {
      call.cancel();
      throw error;
    }
  }

  /** Runs an action and yields each result body. */
  doAction(type: string, body?: Uint8Array | string, options: FlightCallOptions = {}): FlightResultStream<Uint8Array> {
    const call = this.serverStream('DoAction', encodeAction({ type, body: toBytes(body) }), options);
    return FlightResultStream.map(call, (raw) => decodeResult(raw).body);
  }

  /** Lists the actions the server offers. */
  listActions(options: FlightCallOptions = {}): Promise<ActionType[]> {
    const call = this.serverStream('ListActions', EMPTY_MESSAGE, options);
    return FlightResultStream.map(call, decodeActionType).toArray();
  }

  /** Closes the connection once running calls finish. Start no calls afterwards. */
  close(): void {
    this.channel.close();
  }
}
