/**
 * One fuzz case per (seed, request message type, index): the RPC it goes to, the protobuf bytes of
 * its request messages and the metadata they travel with. Each type starts from a valid request of
 * Hangar's protocol (docs/protocol.md) and is mutated at the protobuf layer, in its JSON, or both.
 */
import { Dictionary, Int32, Table, Utf8, makeTable, tableToIPC, vectorFromArray } from 'apache-arrow';
import { type IpcMessage, splitIpcStream } from '../format/ipc-message.js';
import { signJwt } from '../server/auth/jwt.js';
import { decodeAction } from '../flight/flight-messages.js';
import { FuzzRandom } from './fuzz-random.js';
import { flightSqlRequest } from './flight-sql-fuzz-cases.js';
import { FUZZED_ACTIONS, FUZZ_BUCKET, FUZZ_FRAMES, type JsonContext, fuzzJson } from './fuzz-json.js';
import {
  type FuzzField,
  anyValue,
  bytesField,
  encodeFields,
  messageField,
  mutateBytes,
  mutateFields,
  stringField,
  varintField,
  withInvalidUtf8,
} from './protobuf-fuzz-encoding.js';

/**
 * The request messages of Flight's RPCs that the fuzzer covers; `Empty` is ListActions' request,
 * `FlightSql` the Flight SQL messages (in an Any, inside a descriptor, ticket or action body).
 */
export const FUZZED_MESSAGE_TYPES = ['HandshakeRequest', 'FlightDescriptor', 'Ticket', 'Action', 'Criteria', 'FlightData', 'Empty', 'FlightSql'] as const;

/** One of {@link FUZZED_MESSAGE_TYPES}. */
export type FuzzedMessageType = (typeof FUZZED_MESSAGE_TYPES)[number];

/** Flight RPC method names. */
export type FlightMethod = 'Handshake' | 'ListFlights' | 'GetFlightInfo' | 'PollFlightInfo' | 'GetSchema' | 'DoGet' | 'DoPut' | 'DoExchange' | 'DoAction' | 'ListActions';

/** One generated case. */
export interface FuzzCase {
  /** The message type it fuzzes. */
  readonly messageType: FuzzedMessageType;
  /** The run's seed. */
  readonly seed: number;
  /** Its index in the run; with the seed and type, all that is needed to generate it again. */
  readonly index: number;
  /** The RPC it is sent to. */
  readonly method: FlightMethod;
  /** The request messages, each the bytes of one protobuf message (the sender adds gRPC framing). */
  readonly messages: readonly Uint8Array[];
  /** Request metadata beyond gRPC's own (Handshake credentials). */
  readonly metadata: Readonly<Record<string, string>>;
  /** What was done to the valid request, in order; for failure reports. */
  readonly mutations: readonly string[];
}

/** What generation may use from the server under test. */
export interface FuzzCaseOptions {
  /** A valid token (authentication on): Handshake cases send it, and mutations of it, at times. */
  readonly token?: string;
  /** Generate the valid request only, unmutated (for truncation sweeps). */
  readonly valid?: boolean;
}

/** IPC streams (schema, dictionaries, batches) that fuzzed puts start from. */
let sampleStreams: IpcMessage[][] | undefined;

function samples(): IpcMessage[][] {
  if (sampleStreams) return sampleStreams;
  const plain = makeTable({ x: Int32Array.from([1, 2, 3]), y: Float64Array.from([0.5, 1.5, 2.5]) });
  const withStrings = new Table({
    x: vectorFromArray([7, 8], new Int32()),
    s: vectorFromArray(['a', 'bé'], new Utf8()),
    d: vectorFromArray(['u', 'v'], new Dictionary(new Utf8(), new Int32())),
  });
  sampleStreams = [plain, withStrings].map((table) => splitIpcStream(tableToIPC(table, 'stream')));
  return sampleStreams;
}

/** Fields of a FlightDescriptor: CMD with JSON, or PATH with segments, or a hostile type. */
function descriptorFields(random: FuzzRandom, context: JsonContext, log: string[], valid = false): FuzzField[] {
  const form = random.next();
  if (form < 0.6 || valid) return [varintField(1, 2), bytesField(2, fuzzJson(random, context, log, valid))];
  if (form < 0.9) {
    const segments = random.pick([[random.pick(FUZZ_FRAMES)], [random.pick(FUZZ_FRAMES), FUZZ_BUCKET], [], ['a', 'b', 'c'], ['..', FUZZ_BUCKET], ['f0', '']]);
    log.push(`path ${JSON.stringify(segments)}`);
    return [varintField(1, 1), ...segments.map((segment) => stringField(3, segment))];
  }
  const type = random.pick([0n, 3n, -1n, 2n ** 32n + 2n, 2n ** 63n + 1n]);
  log.push(`descriptor type ${type}`);
  return [varintField(1, type), bytesField(2, fuzzJson(random, context, log))];
}

/** A JWT-shaped string whose parts may be anything. */
function jwtLike(random: FuzzRandom, log: string[]): string {
  const b64 = (value: string | Uint8Array): string => Buffer.from(value).toString('base64url');
  const header = random.pick(['{"alg":"HS256","typ":"JWT"}', '{"alg":"none"}', '{"alg":"HS256","crit":["exp"]}', '{"alg":"HS512"}', '{"alg":"HS256","kid":"../../etc/passwd"}', '[]', `{"alg":${'['.repeat(5000)}`, 'not json']);
  const payload = random.pick(['{"type":"admin"}', '{"sub":"x","scope":"read:*","exp":1e308}', '{"scope":"admin:*","exp":-1}', `{"scope":"${'read:a '.repeat(2000)}"}`, '{"exp":"tomorrow"}', '', '{"scope":["read:*"]}']);
  log.push(`jwt ${header.slice(0, 30)} / ${payload.slice(0, 30)}`);
  const signature = random.chance(0.5) ? b64(random.bytes(32)) : random.pick(['', '=', 'AAAA', '*']);
  return random.pick([`${b64(header)}.${b64(payload)}.${signature}`, `${b64(header)}.${b64(payload)}`, `${b64(header)}..${signature}`, '.', '..', '...', `${b64(header)}.${b64(payload)}.${signature}.x`]);
}

/** A token with a few characters changed. */
function damaged(random: FuzzRandom, token: string): string {
  const chars = [...token];
  for (let i = random.between(1, 3); i > 0; i--) chars[random.int(chars.length)] = random.pick(['A', '_', '-', '.', '=', 'z']);
  return chars.join('');
}

/** A Handshake payload: a token, a damaged or forged one, BasicAuth bytes, or junk. */
function handshakePayload(random: FuzzRandom, options: FuzzCaseOptions, log: string[]): Uint8Array {
  const kind = random.int(7);
  if (kind === 0) return new Uint8Array(0);
  if (kind === 1 && options.token) return Buffer.from(random.chance(0.3) ? options.token : damaged(random, options.token));
  if (kind <= 3) return Buffer.from(jwtLike(random, log));
  if (kind === 4) return encodeFields([stringField(2, random.pick(['admin', '', 'é'])), stringField(3, random.pick(['secret', '', 'x'.repeat(1000)]))]);
  if (kind === 5) return withInvalidUtf8(random, Buffer.from(options.token ?? jwtLike(random, log)));
  return random.bytes(random.size(random.chance(0.05) ? 65_536 : 256));
}

/** Handshake credentials in metadata: none, Basic, Bearer (forged or damaged) or auth-token-bin. */
function handshakeMetadata(random: FuzzRandom, options: FuzzCaseOptions, log: string[]): Record<string, string> {
  const kind = random.int(6);
  log.push(`handshake metadata ${kind}`);
  if (kind === 0 || kind === 1) return {};
  if (kind === 2) return { authorization: `Basic ${Buffer.from(random.bytes(random.size(40))).toString(random.chance(0.5) ? 'base64' : 'base64url')}` };
  if (kind === 3) return { authorization: `Bearer ${options.token && random.chance(0.5) ? damaged(random, options.token) : jwtLike(random, log)}` };
  if (kind === 4) return { authorization: random.pick(['Bearer', 'Basic', 'Digest abc', 'Bearer  ', 'basic Og==', 'Basic YTpi:Og==']) };
  return { 'auth-token-bin': Buffer.from(random.chance(0.5) && options.token ? damaged(random, options.token) : jwtLike(random, log)).toString('base64') };
}

/** FlightData messages of a put: descriptor first, then schema, dictionaries and batches. */
function flightDataMessages(random: FuzzRandom, log: string[], valid: boolean): FuzzField[][] {
  const stream = random.pick(samples());
  const messages: FuzzField[][] = stream.map((message, i) => [
    ...(i === 0 ? [messageField(1, descriptorFields(random, 'put-descriptor', log, valid))] : []),
    bytesField(2, message.header),
    ...(random.chance(0.1) ? [bytesField(3, random.bytes(random.size(64)))] : []),
    ...(message.body.byteLength > 0 ? [bytesField(1000, message.body)] : []),
  ]);
  if (valid) return messages;
  // Mutations of the stream itself, or of one message's IPC header or body; the IPC header (a
  // flatbuffer the engine reads) is mutated in a quarter of the cases at least.
  const headerFirst = random.chance(0.25);
  for (let n = random.between(0, 2) + (headerFirst ? 1 : 0); n > 0; n--) {
    const at = random.int(messages.length);
    const kind = headerFirst && n === 1 ? 4 : random.int(7);
    log.push(`stream ${['drop', 'duplicate', 'metadata-only', 'empty', 'ipc-header', 'body', 'swap'][kind]} #${at}`);
    if (kind === 0 && messages.length > 1) messages.splice(at, 1);
    else if (kind === 1) messages.splice(at, 0, messages[at]!);
    else if (kind === 2) messages.splice(at + 1, 0, [bytesField(3, random.bytes(random.size(32)))]);
    else if (kind === 3) messages.splice(at + 1, 0, []);
    else if (kind === 4 || kind === 5) {
      const fields = messages[at]!;
      const field = kind === 4 ? 2n : 1000n;
      const index = fields.findIndex((f) => f.field === field);
      const current = index >= 0 ? fields[index]!.value : undefined;
      const bytes = current?.kind === 'bytes' ? current.value : new Uint8Array(0);
      const mutated = random.chance(0.2) && kind === 5 ? random.bytes(random.size(4096)) : mutateBytes(random, bytes, log);
      if (index >= 0) fields[index] = bytesField(Number(field), mutated);
      else fields.push(bytesField(Number(field), mutated));
    } else if (messages.length > 1) {
      const other = random.int(messages.length);
      [messages[at], messages[other]] = [messages[other]!, messages[at]!];
    }
  }
  return messages;
}

/** The method and the fields of each request message of a case, before protobuf-level mutation. */
function requestOf(random: FuzzRandom, messageType: FuzzedMessageType, options: FuzzCaseOptions, log: string[]): { method: FlightMethod; messages: FuzzField[][]; metadata: Record<string, string> } {
  switch (messageType) {
    case 'HandshakeRequest': {
      const count = options.valid ? 1 : random.pick([0, 1, 1, 1, 2, 3]);
      const messages = Array.from({ length: count }, () => [varintField(1, random.chance(0.8) ? 0n : BigInt(random.int(1000))), bytesField(2, handshakePayload(random, options, log))]);
      return { method: 'Handshake', messages, metadata: options.valid ? {} : handshakeMetadata(random, options, log) };
    }
    case 'FlightDescriptor':
      return { method: random.pick<FlightMethod>(['GetFlightInfo', 'GetFlightInfo', 'GetSchema', 'GetSchema', 'PollFlightInfo']), messages: [descriptorFields(random, 'info-descriptor', log, options.valid)], metadata: {} };
    case 'Ticket':
      return { method: 'DoGet', messages: [[bytesField(1, fuzzJson(random, 'ticket', log, options.valid))]], metadata: {} };
    case 'Action': {
      const type = random.chance(0.9) || options.valid ? random.pick(FUZZED_ACTIONS) : random.pick(['', 'PING', 'ping ', 'x'.repeat(5000), 'delete\u0000', 'constructor', '__proto__', 'toString']);
      return { method: 'DoAction', messages: [[stringField(1, type), bytesField(2, fuzzJson(random, `action:${type}`, log, options.valid))]], metadata: {} };
    }
    case 'Criteria':
      return { method: 'ListFlights', messages: [[bytesField(1, fuzzJson(random, 'criteria', log, options.valid))]], metadata: {} };
    case 'FlightData':
      return { method: random.chance(0.95) ? 'DoPut' : 'DoExchange', messages: flightDataMessages(random, log, options.valid === true), metadata: {} };
    case 'Empty':
      return { method: 'ListActions', messages: [options.valid || random.chance(0.3) ? [] : [{ field: BigInt(random.between(1, 50)), value: anyValue(random) }]], metadata: {} };
    case 'FlightSql': {
      const request = flightSqlRequest(random, log, options.valid === true);
      const metadata: Record<string, string> = options.valid || random.chance(0.8) ? {} : { bucket: random.pick([FUZZ_BUCKET, '', '../x', 'é', 'x'.repeat(300)]) };
      return { ...request, metadata };
    }
  }
}

/**
 * Generates case `index` of `messageType` for `seed`: a valid request (docs/protocol.md) with
 * protobuf-level mutations (unknown fields of every wire type 0–7, duplicates, lying and negative
 * lengths, 10- and 11-byte varints, deep nesting, invalid UTF-8), byte-level ones (truncation,
 * flips, insertions) and JSON ones, each at random; about one case in ten stays valid.
 */
export function generateCase(messageType: FuzzedMessageType, seed: number, index: number, options: FuzzCaseOptions = {}): FuzzCase {
  const random = FuzzRandom.forCase(seed, messageType, index);
  const log: string[] = [];
  const request = requestOf(random, messageType, options, log);
  let messages = request.messages.map((fields) => {
    let mutated = fields;
    if (!options.valid && random.chance(0.6)) for (let n = random.between(1, 3); n > 0; n--) mutated = mutateFields(random, mutated, log);
    return encodeFields(mutated);
  });
  if (!options.valid && messages.length > 0 && random.chance(0.25)) {
    const at = random.int(messages.length);
    messages = messages.map((bytes, i) => (i === at ? mutateBytes(random, bytes, log) : bytes));
  }
  // Unary calls take exactly one message; now and then send none or two.
  if (!options.valid && request.method !== 'Handshake' && request.method !== 'DoPut' && request.method !== 'DoExchange' && random.chance(0.02)) {
    messages = random.chance(0.5) ? [] : [...messages, ...messages];
    log.push(`${messages.length} messages`);
  }
  // A mutation turning an action into `shutdown` would stop the server under test: send ping instead.
  if (messageType === 'Action') messages = messages.map((bytes) => (actionType(bytes) === 'shutdown' ? encodeFields([stringField(1, 'ping')]) : bytes));
  return { messageType, seed, index, method: request.method, messages, metadata: request.metadata, mutations: log };
}

function actionType(bytes: Uint8Array): string | undefined {
  try {
    return decodeAction(bytes).type;
  } catch {
    return undefined;
  }
}

/** Expiry of {@link fuzzToken}: fixed (2100-01-01), so a case is the same whenever it is generated. */
const FUZZ_TOKEN_EXPIRY = 4_102_444_800;

/** A token signed with `secret` for the fuzzer's own valid Handshake cases (read access to the fuzz bucket). */
export function fuzzToken(secret: string): string {
  return signJwt({ sub: 'fuzz', scope: `read:${FUZZ_BUCKET}`, exp: FUZZ_TOKEN_EXPIRY }, secret);
}

/** Shortens bytes for a failure report: hex, at most `max` bytes. */
export function hexPreview(bytes: Uint8Array, max = 96): string {
  const hex = Buffer.from(bytes.subarray(0, max)).toString('hex');
  return bytes.byteLength > max ? `${hex}… (${bytes.byteLength} bytes)` : hex;
}

/** A one-paragraph description of a case, with how to generate it again. */
export function describeCase(c: FuzzCase): string {
  return (
    `${c.messageType} case ${c.index} of seed ${c.seed} → ${c.method}; mutations: ${c.mutations.join(', ') || 'none'}; ` +
    `messages: [${c.messages.map((m) => hexPreview(m)).join(', ')}]; metadata: ${JSON.stringify(c.metadata)}. ` +
    `Replay: node bench/fuzz/run.mjs --seed ${c.seed} --type ${c.messageType} --case ${c.index}`
  );
}
