/**
 * The protocol fuzzer against a running server: every case is sent as raw gRPC frames and must be
 * answered with a status (never INTERNAL, UNKNOWN or none at all) within a bound, while health
 * checks interleaved with the cases (ListActions, and a read of a frame the fuzzer never touches)
 * show that the server keeps answering and keeps its data.
 */
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { splitIpcStream } from '../format/ipc-message.js';
import { encodeFlightData } from '../flight/flight-data.js';
import { DescriptorType, encodeTicket } from '../flight/flight-messages.js';
import { FLIGHT_SERVICE_NAME } from '../flight/flight-service.js';
import { GRPC_STATUS_NAMES, GrpcStatus } from '../grpc/status.js';
import { FuzzFailure } from './decoder-fuzz.js';
import { type FuzzCase, type FuzzedMessageType, generateCase } from './protocol-fuzz-cases.js';
import { RawConnection, type RawReply } from './raw-grpc-call.js';

/** Statuses a server must never answer a request with: they mean a bug, not a refusal. */
const FORBIDDEN_STATUSES: ReadonlySet<number> = new Set([GrpcStatus.CANCELLED, GrpcStatus.UNKNOWN, GrpcStatus.INTERNAL, GrpcStatus.UNAVAILABLE, GrpcStatus.DATA_LOSS]);

/** The frame health checks read; no fuzz case names its bucket. */
const SENTINEL = { name: 'sentinel', bucket: 'fuzz-sentinel' } as const;

/** What a run against a server does. */
export interface ServerFuzzOptions {
  /** The server, `http://host:port`. */
  readonly url: string;
  /** The run's seed. */
  readonly seed: number;
  /** Cases per message type. */
  readonly cases: number;
  /** First case index (default 0). */
  readonly from?: number;
  /** The message types. */
  readonly messageTypes: readonly FuzzedMessageType[];
  /** Calls in flight at once (default 8). */
  readonly concurrency?: number;
  /** Longest wait for a case's answer before it counts as a hang (default 10 s). */
  readonly answerTimeoutMs?: number;
  /** A health check every this many cases of each worker (default 50). */
  readonly healthEvery?: number;
  /** With authentication on: the valid token Handshake cases send (and damage). */
  readonly token?: string;
  /** Metadata of the health checks and the sentinel put, e.g. an admin token's `authorization`. */
  readonly healthMetadata?: Readonly<Record<string, string>>;
  /** Called now and then with the number of cases done of the current type. */
  readonly onProgress?: (messageType: FuzzedMessageType, done: number) => void;
}

/** What one message type's run against a server saw. */
export interface ServerFuzzReport extends FuzzRunReport {
  /** The message type. */
  readonly messageType: FuzzedMessageType;
}

/** What a fuzz run against a live server saw (gRPC here, HTTP in http-fuzz.ts). */
export interface FuzzRunReport {
  /** Cases sent. */
  readonly cases: number;
  /** Answers by status name. */
  readonly statuses: Readonly<Record<string, number>>;
  /** The slowest answer in milliseconds. */
  readonly slowestMs: number;
  /** Index of the slowest case. */
  readonly slowestCase: number;
  /** Health checks made during the run, all answered. */
  readonly healthChecks: number;
  /** The slowest health check in milliseconds. */
  readonly slowestHealthMs: number;
}

const path = (method: string): string => `/${FLIGHT_SERVICE_NAME}/${method}`;
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

/** Checks an answer; returns why it is wrong, or undefined. */
function verdict(reply: RawReply, timeoutMs: number): string | undefined {
  if (reply.timedOut) return `no answer within ${timeoutMs} ms`;
  if (reply.httpStatus !== 200) return `HTTP status ${reply.httpStatus ?? 'none'} (stream reset with code ${reply.rstCode})`;
  if (reply.grpcStatus === undefined) return `no grpc-status (stream reset with code ${reply.rstCode})`;
  if (FORBIDDEN_STATUSES.has(reply.grpcStatus)) return `answered ${GRPC_STATUS_NAMES[reply.grpcStatus]}: ${reply.grpcMessage}`;
  return undefined;
}

/** Stores the sentinel frame and returns the bytes a read of it answers, to compare later reads with. */
async function prepareSentinel(connection: RawConnection, metadata: Readonly<Record<string, string>>, timeoutMs: number): Promise<Buffer> {
  const table = tableFromArrays({ x: Int32Array.from([1, 2, 3]), s: ['a', 'b', 'c'] });
  const messages = splitIpcStream(tableToIPC(table, 'stream')).map((message, i) =>
    encodeFlightData({
      dataHeader: message.header,
      dataBody: message.body,
      ...(i === 0 ? { flightDescriptor: { type: DescriptorType.Cmd, cmd: json({ ...SENTINEL, mode: 'replace' }) } } : {}),
    }),
  );
  const put = await connection.call(path('DoPut'), messages, metadata, timeoutMs);
  if (put.grpcStatus !== GrpcStatus.OK) throw new Error(`protocol fuzz: could not store the sentinel frame: ${GRPC_STATUS_NAMES[put.grpcStatus ?? -1] ?? 'no status'} ${put.grpcMessage}`);
  return readSentinel(connection, metadata, timeoutMs);
}

async function readSentinel(connection: RawConnection, metadata: Readonly<Record<string, string>>, timeoutMs: number): Promise<Buffer> {
  const get = await connection.call(path('DoGet'), [encodeTicket({ ticket: json(SENTINEL) })], metadata, timeoutMs);
  if (get.grpcStatus !== GrpcStatus.OK) throw new Error(`protocol fuzz: health check: reading the sentinel frame answered ${GRPC_STATUS_NAMES[get.grpcStatus ?? -1] ?? (get.timedOut ? 'nothing in time' : 'no status')} ${get.grpcMessage}`);
  return Buffer.concat(get.messages);
}

/**
 * Sends `cases` cases of each message type to the server, `concurrency` at a time, with health
 * checks in between.
 * @throws FuzzFailure for the first case answered wrongly or not in time; Error for a failed health check
 */
export async function fuzzServer(options: ServerFuzzOptions): Promise<ServerFuzzReport[]> {
  const timeoutMs = options.answerTimeoutMs ?? 10_000;
  const healthEvery = options.healthEvery ?? 50;
  const concurrency = options.concurrency ?? 8;
  const healthMetadata = options.healthMetadata ?? {};
  const from = options.from ?? 0;
  // Fuzz cases share connections with each other, health checks have their own: a connection
  // a case breaks must not pass for a server that stopped answering.
  const connections = Array.from({ length: Math.max(1, Math.ceil(concurrency / 4)) }, () => new RawConnection(options.url));
  const health = new RawConnection(options.url);
  const reports: ServerFuzzReport[] = [];
  try {
    const baseline = await prepareSentinel(health, healthMetadata, timeoutMs);
    let healthChecks = 0;
    let slowestHealthMs = 0;
    const checkHealth = async (after: FuzzCase): Promise<void> => {
      const started = performance.now();
      const actions = await health.call(path('ListActions'), [new Uint8Array(0)], healthMetadata, timeoutMs);
      if (actions.grpcStatus !== GrpcStatus.OK || actions.messages.length === 0) {
        throw new FuzzFailure(after, `health check after this case: ListActions answered ${actions.timedOut ? `nothing within ${timeoutMs} ms` : `${GRPC_STATUS_NAMES[actions.grpcStatus ?? -1] ?? 'no status'} ${actions.grpcMessage}`}`);
      }
      const read = await readSentinel(health, healthMetadata, timeoutMs).catch((error: Error) => {
        throw new FuzzFailure(after, error.message);
      });
      if (!read.equals(baseline)) throw new FuzzFailure(after, 'health check after this case: the sentinel frame reads differently than before the run');
      healthChecks++;
      slowestHealthMs = Math.max(slowestHealthMs, performance.now() - started);
    };
    for (const messageType of options.messageTypes) {
      const statuses: Record<string, number> = {};
      let slowestMs = 0;
      let slowestCase = from;
      let next = from;
      let done = 0;
      let failed = false;
      healthChecks = 0;
      slowestHealthMs = 0;
      const worker = async (id: number): Promise<void> => {
        const connection = connections[id % connections.length]!;
        for (let sent = 0; next < from + options.cases && !failed; sent++) {
          const index = next++;
          const fuzzCase = generateCase(messageType, options.seed, index, options.token === undefined ? {} : { token: options.token });
          const reply = await connection.call(path(fuzzCase.method), fuzzCase.messages, fuzzCase.metadata, timeoutMs);
          const wrong = verdict(reply, timeoutMs);
          if (wrong !== undefined) throw new FuzzFailure(fuzzCase, wrong);
          const name = GRPC_STATUS_NAMES[reply.grpcStatus!] ?? String(reply.grpcStatus);
          statuses[name] = (statuses[name] ?? 0) + 1;
          if (reply.elapsedMs > slowestMs) {
            slowestMs = reply.elapsedMs;
            slowestCase = index;
          }
          if (++done % 1000 === 0) options.onProgress?.(messageType, done);
          if (sent % healthEvery === healthEvery - 1) await checkHealth(fuzzCase);
        }
      };
      await Promise.all(
        Array.from({ length: concurrency }, (_, id) =>
          worker(id).catch((error: unknown) => {
            failed = true;
            throw error;
          }),
        ),
      );
      await checkHealth(generateCase(messageType, options.seed, from + options.cases - 1, options.token === undefined ? {} : { token: options.token }));
      reports.push({ messageType, cases: options.cases, statuses, slowestMs, slowestCase, healthChecks, slowestHealthMs });
    }
    return reports;
  } finally {
    for (const connection of connections) connection.close();
    health.close();
  }
}
