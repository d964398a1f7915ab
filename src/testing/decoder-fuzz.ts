/**
 * The protocol fuzzer in process: each case goes through the decoders and request parsers a
 * server call runs before touching the store, which must return or refuse it with a HangarError
 * (never another exception). Runs in a worker thread watched from outside, so a case that loops
 * forever is reported by its seed and index instead of hanging the run.
 */
import { Worker } from 'node:worker_threads';
import { HangarError, InvalidArgumentError } from '../errors.js';
import { inspectMessage } from '../format/ipc-message.js';
import { frameRef, validateName } from '../names.js';
import { parseBucketDeleteMode } from '../core/put-mode.js';
import { parseResampleRequest } from '../core/resample.js';
import { decodeFlightData } from '../flight/flight-data.js';
import { decodeAction, decodeCriteria, decodeFlightDescriptor, decodeHandshake, decodeTicket } from '../flight/flight-messages.js';
import { readFields } from '../flight/protobuf-wire.js';
import { CallMetadata } from '../grpc/metadata.js';
import { Authenticator } from '../server/auth/authenticator.js';
import { parseCriteria, parseInfoDescriptor, parseJsonObject, parsePutDescriptor, parseTicket, parseVersionSelector } from '../server/dataframe-protocol.js';
import { type FuzzCase, type FuzzedMessageType, describeCase, fuzzToken, generateCase } from './protocol-fuzz-cases.js';
import { DescriptorType } from '../flight/flight-messages.js';
import {
  decodeAny,
  decodeClosePreparedStatementRequest,
  decodeCreatePreparedStatementRequest,
  decodeFlightSqlCommand,
  isFlightSqlAny,
} from '../server/flight-sql/flight-sql-messages.js';

/**
 * What the Flight SQL router does with a request message's command bytes: a Flight SQL command it
 * decodes (refusing malformed ones), or false when the bytes are not a Flight SQL Any, which then
 * go to Hangar's own handlers.
 */
function decodeFlightSqlLikeServer(bytes: Uint8Array | undefined): boolean {
  const any = bytes ? decodeAny(bytes) : undefined;
  if (!isFlightSqlAny(any)) return false;
  decodeFlightSqlCommand(any);
  return true;
}

/** The Flight SQL actions' request decoding, as the Flight SQL service does it; false for other actions. */
function decodeFlightSqlActionLikeServer(type: string, body: Uint8Array): boolean {
  if (type === 'CreatePreparedStatement') decodeCreatePreparedStatementRequest(body);
  else if (type === 'ClosePreparedStatement') decodeClosePreparedStatementRequest(body);
  else return false;
  return true;
}

/** Parses an action body as the action handlers do, up to the engine call. */
function parseActionBody(type: string, bodyBytes: Uint8Array): void {
  const body = parseJsonObject(bodyBytes, `the body of action '${type}'`);
  switch (type) {
    case 'ping':
    case 'buckets':
      return;
    case 'stat':
    case 'restore':
      frameRef(body.name, body.bucket);
      parseVersionSelector(body);
      return;
    case 'delete':
    case 'versions':
    case 'compact':
      frameRef(body.name, body.bucket);
      return;
    case 'vacuum':
      if (body.bucket !== undefined && body.bucket !== null) validateName('bucket', body.bucket);
      if (body.name !== undefined && body.name !== null) validateName('frame', body.name);
      return;
    case 'delete_bucket':
      validateName('bucket', body.name);
      parseBucketDeleteMode(body.mode);
      return;
    case 'resample':
      parseResampleRequest(body);
      return;
    default:
      throw new InvalidArgumentError(`unknown action '${type}'`);
  }
}

/**
 * Runs a case through what the server does with its bytes before the engine: protobuf decoding,
 * the JSON inside, names, IPC headers, and (given an authenticator) token checks.
 * @throws whatever the server's code throws; a HangarError is a refusal, anything else a bug
 */
export function decodeLikeServer(c: FuzzCase, authenticator?: Authenticator): void {
  const metadata = new CallMetadata(c.metadata);
  switch (c.method) {
    case 'Handshake':
      for (const message of c.messages) {
        const request = decodeHandshake(message);
        if (authenticator && request.payload.byteLength > 0) authenticator.principalOfToken(Buffer.from(request.payload).toString('utf8'));
      }
      // Only Bearer credentials are checked here; Basic needs a users file the fuzz server does not have.
      if (authenticator && !/^basic(\s|$)/i.test(metadata.get('authorization') ?? '') && (metadata.get('authorization') !== undefined || metadata.getBinary('auth-token-bin') !== undefined)) {
        authenticator.principalOf(metadata);
      }
      return;
    case 'GetFlightInfo':
    case 'GetSchema': {
      const descriptor = decodeFlightDescriptor(only(c));
      if (descriptor.type === DescriptorType.Cmd && decodeFlightSqlLikeServer(descriptor.cmd)) return;
      parseInfoDescriptor(descriptor);
      return;
    }
    case 'PollFlightInfo':
      decodeFlightDescriptor(only(c));
      return;
    case 'DoGet': {
      const ticket = decodeTicket(only(c)).ticket;
      if (decodeFlightSqlLikeServer(ticket)) return;
      parseTicket(ticket);
      return;
    }
    case 'DoAction': {
      const action = decodeAction(only(c));
      if (decodeFlightSqlActionLikeServer(action.type, action.body)) return;
      parseActionBody(action.type, action.body);
      return;
    }
    case 'ListFlights':
      parseCriteria(decodeCriteria(only(c)).expression);
      return;
    case 'ListActions':
      for (const _ of readFields(only(c), 'Empty'));
      return;
    case 'DoPut':
    case 'DoExchange':
      c.messages.forEach((message, i) => {
        const data = decodeFlightData(message);
        const descriptor = data.flightDescriptor;
        const flightSql = i === 0 && descriptor?.type === DescriptorType.Cmd && decodeFlightSqlLikeServer(descriptor.cmd);
        if (i === 0 && !flightSql) parsePutDescriptor(data.flightDescriptor);
        if (data.dataHeader.byteLength > 0) inspectMessage({ header: data.dataHeader, body: data.dataBody });
      });
      return;
  }
}

/** The one request message of a unary call. */
function only(c: FuzzCase): Uint8Array {
  if (c.messages.length !== 1) throw new InvalidArgumentError('this call takes exactly one request message');
  return c.messages[0]!;
}

/** What one message type's in-process run saw. */
export interface DecoderFuzzReport {
  /** The message type. */
  readonly messageType: FuzzedMessageType;
  /** Cases run. */
  readonly cases: number;
  /** Cases the parsers accepted. */
  readonly accepted: number;
  /** Cases refused with a HangarError, by error code. */
  readonly refused: Readonly<Record<string, number>>;
  /** The slowest case, in milliseconds, and its index. */
  readonly slowestMs: number;
  /** Index of the slowest case. */
  readonly slowestCase: number;
}

/** A case that failed: what it was and why. */
export class FuzzFailure extends Error {
  /**
   * @param fuzzCase - the failing case (its description says how to replay it)
   * @param reason - what went wrong
   */
  constructor(
    readonly fuzzCase: FuzzCase,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`protocol fuzz: ${reason}\n${describeCase(fuzzCase)}`, options);
    this.name = 'FuzzFailure';
  }
}

/** What an in-process run does. */
export interface DecoderFuzzOptions {
  /** The run's seed. */
  readonly seed: number;
  /** Cases per message type. */
  readonly cases: number;
  /** First case index (default 0), to run one case or a range again. */
  readonly from?: number;
  /** The message types (default all). */
  readonly messageTypes: readonly FuzzedMessageType[];
  /** A secret: tokens are then checked as a server with `--secret` does. */
  readonly secret?: string;
  /** Called after each case with its index (the watchdog reads progress through it). */
  readonly onCase?: (messageType: FuzzedMessageType, index: number) => void;
}

/**
 * Runs the cases synchronously in this thread.
 * @throws FuzzFailure for the first case answered with anything but a return or a refusal
 */
export function runDecoderFuzz(options: DecoderFuzzOptions): DecoderFuzzReport[] {
  const authenticator = options.secret === undefined ? undefined : new Authenticator({ secret: options.secret });
  const token = options.secret === undefined ? undefined : fuzzToken(options.secret);
  const from = options.from ?? 0;
  return options.messageTypes.map((messageType) => {
    let accepted = 0;
    const refused: Record<string, number> = {};
    let slowestMs = 0;
    let slowestCase = from;
    for (let index = from; index < from + options.cases; index++) {
      options.onCase?.(messageType, index);
      const fuzzCase = generateCase(messageType, options.seed, index, token === undefined ? {} : { token });
      const started = performance.now();
      try {
        decodeLikeServer(fuzzCase, authenticator);
        accepted++;
      } catch (error) {
        if (!(error instanceof HangarError) || error.code === 'INTERNAL') {
          throw new FuzzFailure(fuzzCase, `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} instead of a refusal`, { cause: error });
        }
        refused[error.code] = (refused[error.code] ?? 0) + 1;
      }
      const elapsed = performance.now() - started;
      if (elapsed > slowestMs) {
        slowestMs = elapsed;
        slowestCase = index;
      }
    }
    return { messageType, cases: options.cases, accepted, refused, slowestMs, slowestCase };
  });
}

/** Messages from the worker. */
type WorkerReply = { readonly reports: DecoderFuzzReport[] } | { readonly failure: { messageType: FuzzedMessageType; index: number; message: string } };

/**
 * Runs {@link runDecoderFuzz} in a worker thread and watches it: a case still running after
 * `hangMs` (default 10 s) ends the run with a FuzzFailure naming it. Needs the built package
 * (dist/), as the worker loads compiled JavaScript.
 */
export async function fuzzDecoders(options: Omit<DecoderFuzzOptions, 'onCase'> & { readonly hangMs?: number }): Promise<DecoderFuzzReport[]> {
  const hangMs = options.hangMs ?? 10_000;
  // progress[0]: message type index, progress[1]: case index (low 31 bits), progress[2]: case index / 2^31.
  const progress = new Int32Array(new SharedArrayBuffer(12));
  const worker = new Worker(new URL('./decoder-fuzz-worker.js', import.meta.url), {
    workerData: { ...options, progress },
    // A server runs these decoders on the main thread, whose stack (about 1 MB) is smaller than a
    // worker's default (4 MB): recursion too deep for the server must fail here too.
    resourceLimits: { stackSizeMb: 1 },
  });
  const position = (): string => `${Atomics.load(progress, 0)}:${Atomics.load(progress, 1)}:${Atomics.load(progress, 2)}`;
  return new Promise<DecoderFuzzReport[]>((resolve, reject) => {
    let last = position();
    const watchdog = setInterval(() => {
      const now = position();
      if (now !== last) {
        last = now;
        return;
      }
      clearInterval(watchdog);
      void worker.terminate();
      const messageType = options.messageTypes[Atomics.load(progress, 0)]!;
      const index = Atomics.load(progress, 1) + Atomics.load(progress, 2) * 2 ** 31;
      const token = options.secret === undefined ? {} : { token: fuzzToken(options.secret) };
      reject(new FuzzFailure(generateCase(messageType, options.seed, index, token), `the case did not finish within ${hangMs} ms (decoding in process)`));
    }, hangMs);
    worker.once('message', (reply: WorkerReply) => {
      clearInterval(watchdog);
      void worker.terminate();
      if ('reports' in reply) resolve(reply.reports);
      else reject(new Error(reply.failure.message));
    });
    worker.once('error', (error) => {
      clearInterval(watchdog);
      reject(error);
    });
  });
}
