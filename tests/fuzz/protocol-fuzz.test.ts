// Protocol fuzzing at the protobuf layer (docs/protocol.md, "Protocol fuzzing"): every request
// message, through the decoders in process and as raw gRPC frames against real servers (with and
// without --secret), each case answered within a bound while health checks show the server serving.
// Needs dist/ (npm test builds it): the in-process run is a worker thread, the servers child processes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarError } from '../../dist/errors.js';
import { decodeLikeServer, fuzzDecoders } from '../../dist/testing/decoder-fuzz.js';
import { FUZZED_MESSAGE_TYPES, type FuzzCase, fuzzToken, generateCase } from '../../dist/testing/protocol-fuzz-cases.js';
import { RawConnection } from '../../dist/testing/raw-grpc-call.js';
import { type ServerProcess, startServerProcess } from '../../dist/testing/server-process.js';
import { fuzzServer } from '../../dist/testing/server-fuzz.js';
import { varintBytes } from '../../dist/testing/protobuf-fuzz-encoding.js';
import { Authenticator } from '../../dist/server/auth/authenticator.js';
import { DescriptorType, decodeHandshake, encodeAction, encodeCriteria } from '../../dist/flight/flight-messages.js';
import { HangarClient } from '../../dist/client/index.js';
import { Table, Utf8, tableFromArrays, tableToIPC, vectorFromArray } from 'apache-arrow';
import { inspectMessage, splitIpcStream } from '../../dist/format/ipc-message.js';
import { decodeFlightData, encodeFlightData } from '../../dist/flight/flight-data.js';

/** The seed (printed, and in every failure with the command that replays the case). */
const SEED = Number(process.env.HANGAR_FUZZ_SEED ?? 0);
/** Cases per message type through the decoders in process. */
const CASES = Number(process.env.HANGAR_FUZZ_CASES ?? 10_000);
/** Generous bounds for whole runs on a busy CI machine; each case has its own 10 s bound inside. */
const RUN_TIMEOUT_MS = 600_000;
/** Cases per message type against each live server. */
const SERVER_CASES = Number(process.env.HANGAR_FUZZ_SERVER_CASES ?? 1_500);
const SECRET = 'protocol-fuzz-secret';
const HANDSHAKE = '/arrow.flight.protocol.FlightService/Handshake';
const DO_ACTION = '/arrow.flight.protocol.FlightService/DoAction';
const LIST_FLIGHTS = '/arrow.flight.protocol.FlightService/ListFlights';
const DO_PUT = '/arrow.flight.protocol.FlightService/DoPut';


console.log(`protocol fuzz: seed ${SEED}, ${CASES} cases per message type in process, ${SERVER_CASES} per server`);

describe('protocol fuzz: the decoders in process', () => {
  it(`returns or refuses ${CASES} cases of each request message, none running away`, { timeout: RUN_TIMEOUT_MS }, async () => {
    const reports = await fuzzDecoders({ seed: SEED, cases: CASES, messageTypes: FUZZED_MESSAGE_TYPES });
    for (const report of reports) {
      expect(report.cases).toBe(CASES);
      // Both paths are exercised: some cases are valid requests, most are refused.
      expect(report.accepted, report.messageType).toBeGreaterThan(0);
      expect(report.refused.INVALID_ARGUMENT ?? 0, report.messageType).toBeGreaterThan(0);
    }
  });

  it(`checks Handshake tokens of ${CASES} cases as a server with --secret does`, { timeout: RUN_TIMEOUT_MS }, async () => {
    const [report] = await fuzzDecoders({ seed: SEED + 1, cases: CASES, messageTypes: ['HandshakeRequest'], secret: SECRET });
    expect(report!.refused.UNAUTHENTICATED ?? 0).toBeGreaterThan(0);
  });

  it('refuses every truncation of every valid request with a HangarError', () => {
    const authenticator = new Authenticator({ secret: SECRET });
    for (const messageType of FUZZED_MESSAGE_TYPES) {
      for (let index = 0; index < 4; index++) {
        const valid = generateCase(messageType, SEED, index, { valid: true, token: fuzzToken(SECRET) });
        valid.messages.forEach((message, m) => {
          for (let at = 0; at < message.byteLength; at++) {
            const cut: FuzzCase = { ...valid, messages: valid.messages.map((bytes, i) => (i === m ? bytes.subarray(0, at) : bytes)), mutations: [`truncate message ${m} at ${at}`] };
            try {
              decodeLikeServer(cut, authenticator);
            } catch (error) {
              expect(error, `${messageType} #${index} message ${m} cut at ${at}: ${String(error)}`).toBeInstanceOf(HangarError);
              expect((error as HangarError).code).not.toBe('INTERNAL');
            }
          }
        });
      }
    }
  });
});

describe('protocol fuzz: regressions it found', () => {
  it('refuses JSON nested deeper than 64 levels (deep metadata overflowed the stack: INTERNAL)', () => {
    const deep = `{"name":"f0","metadata":{"k":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`;
    const message = encodeFlightData({ flightDescriptor: { type: DescriptorType.Cmd, cmd: Buffer.from(deep) }, dataHeader: new Uint8Array(0), dataBody: new Uint8Array(0) });
    const put: FuzzCase = { ...generateCase('FlightData', SEED, 0, { valid: true }), messages: [message] };
    expect(() => decodeLikeServer(put)).toThrow(/deeper than 64 levels/);
  });

  describe('against a server', () => {
    let server: ServerProcess;
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'hangar-fuzz-regress-'));
      server = await startServerProcess({ args: ['--port', '0', '--data', join(dir, 'store')] });
    });
    afterAll(async () => {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('echoes a Handshake protocol_version of 2^64 - 1 (its re-encoding threw: INTERNAL)', async () => {
      const connection = new RawConnection(server.url);
      const reply = await connection.call(HANDSHAKE, [Uint8Array.from([0x08, ...varintBytes(-1n)])]);
      expect(reply.grpcStatus).toBe(0);
      expect(decodeHandshake(reply.messages[0]!).protocolVersion).toBe(-1);
      connection.close();
    });

    it('answers an error quoting a 70 KB action name (its trailers were too large: the reply was reset)', async () => {
      const connection = new RawConnection(server.url);
      const reply = await connection.call(DO_ACTION, [encodeAction({ type: 'a'.repeat(70_000), body: new Uint8Array(0) })]);
      expect(reply.grpcStatus).toBe(3);
      expect(reply.grpcMessage).toMatch(/^unknown action 'a+… \(\d+ more characters left out\)$/);
      connection.close();
    });

    it('refuses string offsets outside their value bytes (a 2-row put with such offsets wrote a 2 GB segment)', async () => {
      const [schema, batch] = splitIpcStream(tableToIPC(new Table({ s: vectorFromArray(['a', 'b'], new Utf8()) }), 'stream'));
      const body = Buffer.from(batch!.body);
      // The batch's body: no validity bitmap, then the three int32 offsets, then the value bytes.
      body.writeInt32LE(0x7fff_0000, 4);
      body.writeInt32LE(0x7fff_0001, 8);
      const put = [
        encodeFlightData({ flightDescriptor: { type: DescriptorType.Path, path: ['offsets'] }, dataHeader: schema!.header, dataBody: new Uint8Array(0) }),
        encodeFlightData({ dataHeader: batch!.header, dataBody: body }),
      ];
      const connection = new RawConnection(server.url);
      const reply = await connection.call(DO_PUT, put);
      expect(reply.grpcStatus).toBe(3);
      expect(reply.grpcMessage).toMatch(/offsets run from 0 to 2147418113, outside its \d+ value bytes/);
      const stat = await connection.call(DO_ACTION, [encodeAction({ type: 'stat', body: Buffer.from('{"name":"offsets"}') })]);
      expect(stat.grpcStatus).toBe(5);
      connection.close();
    });

    it('refuses a record batch longer than its buffers (one flipped byte made a 231-byte put store 922 M rows)', async () => {
      const found = generateCase('FlightData', 25, 3176);
      const batch = decodeFlightData(found.messages[1]!);
      // The case as the long run found it: a batch header saying 922,746,883 rows over 40 body bytes.
      expect(inspectMessage({ header: batch.dataHeader, body: batch.dataBody })).toMatchObject({ kind: 'batch', rows: 922_746_883 });
      const connection = new RawConnection(server.url);
      const reply = await connection.call(DO_PUT, found.messages);
      expect(reply.grpcStatus).toBe(3);
      expect(reply.grpcMessage).toMatch(/fewer than its 922746883 rows need/);
      connection.close();
    });

    it('lists with a catastrophic regex in bounded time and refuses backreferences (2^60 backtracking steps stopped the server)', async () => {
      const client = HangarClient.connect(server.location);
      const name = 'a'.repeat(60);
      await client.put(name, tableFromArrays({ x: Int32Array.from([1]) }), { bucket: 'redos' });
      const connection = new RawConnection(server.url);
      const criteria = (regex: string): Uint8Array[] => [encodeCriteria({ expression: Buffer.from(JSON.stringify({ bucket: 'redos', regex })) })];
      const slow = await connection.call(LIST_FLIGHTS, criteria('^(a|a)*b$'), {}, 30_000);
      expect(slow.timedOut).toBe(false);
      expect(slow.grpcStatus).toBe(0);
      expect(slow.messages).toHaveLength(0);
      const matching = await connection.call(LIST_FLIGHTS, criteria('^(a|a)*$'));
      expect(matching.messages).toHaveLength(1);
      for (const regex of ['^(a+)+\\1$', '(?=a)', '(?<!b)a', '(?<n>a)\\k<n>']) {
        const refused = await connection.call(LIST_FLIGHTS, criteria(regex));
        expect(refused.grpcStatus, regex).toBe(3);
        expect(refused.grpcMessage).toMatch(/backreference or a lookaround/);
      }
      connection.close();
      client.close();
    });
  });
});

/** Starts a server process on a fresh store. */
async function serverOn(args: string[]): Promise<{ server: ServerProcess; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'hangar-fuzz-'));
  // A small version history, so valid fuzzed puts do not pile up on disk in long runs.
  const server = await startServerProcess({ args: ['--port', '0', '--data', join(dir, 'store'), '--keep-versions', '2', '--keep-for', '0', '--vacuum-grace', '0', '--vacuum-every', '1m', ...args] });
  return { server, dir };
}

describe('protocol fuzz: a server without authentication', () => {
  let server: ServerProcess;
  let dir: string;
  beforeAll(async () => ({ server, dir } = await serverOn([])));
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(`answers ${SERVER_CASES} cases of each request message with a status, in bounded time, and keeps serving`, { timeout: RUN_TIMEOUT_MS }, async () => {
    const reports = await fuzzServer({ url: server.url, seed: SEED, cases: SERVER_CASES, messageTypes: FUZZED_MESSAGE_TYPES, healthEvery: 25 });
    for (const report of reports) {
      expect(Object.values(report.statuses).reduce((a, b) => a + b, 0)).toBe(SERVER_CASES);
      expect(report.healthChecks, report.messageType).toBeGreaterThan(0);
    }
    // Every kind of answer a valid request gets, and refusals: the fuzz reached past the decoders.
    const all = reports.flatMap((report) => Object.keys(report.statuses));
    expect(all).toEqual(expect.arrayContaining(['OK', 'INVALID_ARGUMENT', 'NOT_FOUND', 'UNIMPLEMENTED']));
    expect(server.child.exitCode).toBeNull();
  });

  it('still shuts down on SIGTERM', async () => {
    expect(await server.stop()).toBe(0);
  });
});

describe('protocol fuzz: a server with --secret (before authentication)', () => {
  let server: ServerProcess;
  let dir: string;
  beforeAll(async () => ({ server, dir } = await serverOn(['--secret', SECRET])));
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses the 16-byte Handshake with a negative length (it hung the server) and keeps serving', async () => {
    const connection = new RawConnection(server.url);
    const hostile = Uint8Array.from([0x12, ...varintBytes(-11n), 0x41, 0x41, 0x41, 0x41, 0x41]);
    expect(hostile.byteLength).toBe(16);
    const reply = await connection.call(HANDSHAKE, [hostile]);
    expect(reply.timedOut).toBe(false);
    expect(reply.grpcStatus).toBe(3);
    expect(reply.grpcMessage).toMatch(/malformed Handshake message/);
    const actions = await connection.call('/arrow.flight.protocol.FlightService/ListActions', [new Uint8Array(0)], { authorization: `Bearer ${server.adminToken}` });
    expect(actions.grpcStatus).toBe(0);
    connection.close();
  });

  it(`answers ${SERVER_CASES} Handshakes (payloads, tokens, credentials) and every other request unauthenticated`, { timeout: RUN_TIMEOUT_MS }, async () => {
    const health = { authorization: `Bearer ${server.adminToken}` };
    const [handshakes] = await fuzzServer({ url: server.url, seed: SEED, cases: SERVER_CASES, messageTypes: ['HandshakeRequest'], token: fuzzToken(SECRET), healthMetadata: health, healthEvery: 25 });
    expect(handshakes!.statuses).toMatchObject({ OK: expect.any(Number), UNAUTHENTICATED: expect.any(Number), INVALID_ARGUMENT: expect.any(Number) });
    const others = FUZZED_MESSAGE_TYPES.filter((type) => type !== 'HandshakeRequest');
    const reports = await fuzzServer({ url: server.url, seed: SEED, cases: Math.ceil(SERVER_CASES / 10), messageTypes: others, healthMetadata: health, healthEvery: 25 });
    for (const report of reports) expect(Object.keys(report.statuses), report.messageType).toEqual(['UNAUTHENTICATED']);
    expect(await server.stop()).toBe(0);
  });
});
