// FlightClient against a Flight server written with pyarrow: proves the client is generic Flight.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Int64, type RecordBatch, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FlightCallError,
  FlightClient,
  NotFoundError,
  UnauthenticatedError,
  UnimplementedError,
  commandDescriptor,
  pathDescriptor,
} from '../../src/client/index.js';

const PYTHON = process.env.HANGAR_INTEROP_PYTHON ?? fileURLToPath(new URL('../../.venv-interop/bin/python', import.meta.url));
const SERVER_SCRIPT = fileURLToPath(new URL('./fixtures/pyarrow_server.py', import.meta.url));
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Starts the pyarrow server and resolves with its port (from its first line of output). */
async function startPyarrowServer(): Promise<{ child: ChildProcessWithoutNullStreams; port: number }> {
  if (!existsSync(PYTHON)) {
    throw new Error(`no Python with pyarrow at ${PYTHON}; run tests/interop/setup-venv.sh (or set HANGAR_INTEROP_PYTHON)`);
  }
  const child = spawn(PYTHON, [SERVER_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`the pyarrow server did not start within 15 s: ${stderr}`)), 15_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the pyarrow server exited with ${code}: ${stderr}`));
    });
  });
  const port = Number(firstLine.trim());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`the pyarrow server printed ${JSON.stringify(firstLine)}, not a port`);
  return { child, port };
}

describe('FlightClient against a pyarrow Flight server', () => {
  let child: ChildProcessWithoutNullStreams | undefined;
  let client: FlightClient;
  let startError: unknown;

  beforeAll(async () => {
    try {
      const started = await startPyarrowServer();
      child = started.child;
      client = FlightClient.connect(`grpc+tcp://127.0.0.1:${started.port}`);
    } catch (error) {
      startError = error;
    }
  });

  // Without Python every test fails (vitest would report a failing beforeAll as skipped tests).
  beforeEach(() => {
    if (startError) throw startError;
  });

  afterAll(async () => {
    client?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.stdin.end(); // the server exits when its stdin closes
      const timer = setTimeout(() => child!.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  });

  it('lists the actions the server offers', async () => {
    const actions = await client.listActions();
    expect(actions.map((a) => a.type)).toEqual(['echo', 'count', 'fail']);
    expect(actions[0]!.description).toBe('Returns the body unchanged.');
  });

  it('runs actions and streams their results', async () => {
    expect((await client.doAction('echo', 'hello').toArray()).map(text)).toEqual(['hello']);
    const results: string[] = [];
    for await (const body of client.doAction('count', '4')) results.push(text(body));
    expect(results).toEqual(['0', '1', '2', '3']);
  });

  it('lists flights with decoded schemas and sizes', async () => {
    const flights = await client.listFlights().toArray();
    const seed = flights.find((f) => f.flightDescriptor?.path?.[0] === 'seed');
    expect(seed).toBeDefined();
    expect(seed!.totalRecords).toBe(3);
    expect(seed!.schema!.fields.map((f) => [f.name, String(f.type)])).toEqual([
      ['id', 'Int64'],
      ['label', 'Dictionary<Int32, Utf8>'],
      ['at', 'Timestamp<MICROSECOND, UTC>'],
    ]);
  });

  it('gets flight info and schema, then redeems the endpoint ticket with DoGet', async () => {
    const info = await client.getFlightInfo(pathDescriptor('seed'));
    expect(info.totalRecords).toBe(3);
    expect(info.endpoint).toHaveLength(1);
    const schema = await client.getSchema(pathDescriptor('seed'));
    expect(schema.fields.map((f) => f.name)).toEqual(['id', 'label', 'at']);

    const table = await client.doGet(info.endpoint[0]!.ticket!).readAll();
    expect(table.numRows).toBe(3);
    expect([...table.getChild('id')!]).toEqual([1n, 2n, 3n]);
    expect([...table.getChild('label')!]).toEqual(['a', null, 'c']);
    const at = table.getChild('at')!;
    expect(at.get(1)).toBe(1500); // 1.5 s in microseconds, read back as milliseconds
    expect(at.get(2)).toBeNull();
  });

  it('puts a multi-batch table (slicing batches over 4 MiB) and reads it back', async () => {
    const rows = 50_000;
    const table = new Table({
      n: vectorFromArray(Array.from({ length: rows }, (_, i) => BigInt(i)), new Int64()),
      s: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 10 === 9 ? null : `${i}-${'z'.repeat(90)}`)), new Utf8()),
    });
    const results = await client.doPut(pathDescriptor('uploaded', 'big'), table);
    expect(results).toHaveLength(1);
    const summary = JSON.parse(text(results[0]!)) as { rows: number; batches: number };
    expect(summary.rows).toBe(rows);
    expect(summary.batches).toBeGreaterThan(1); // one ~5 MB batch arrives as several messages

    const back = await client.doGet(JSON.stringify(['uploaded', 'big'])).readAll();
    expect(back.numRows).toBe(rows);
    expect([...back.getChild('n')!].every((value, i) => value === BigInt(i))).toBe(true);
    expect([...back.getChild('s')!].every((value, i) => value === table.getChild('s')!.get(i))).toBe(true);
  });

  it('puts from an async iterable and streams DoGet batch by batch', async () => {
    const table = new Table({ k: vectorFromArray(Array.from({ length: 4_500 }, (_, i) => BigInt(i * 2)), new Int64()) });
    async function* batches(): AsyncGenerator<RecordBatch> {
      for (let start = 0; start < table.numRows; start += 1_500) yield* table.slice(start, start + 1_500).batches;
    }
    const results = await client.doPut(pathDescriptor('streamed'), batches());
    expect(JSON.parse(text(results[0]!))).toEqual({ rows: 4_500, batches: 3 });

    const stream = client.doGet(JSON.stringify(['streamed']));
    expect((await stream.schema()).fields.map((f) => f.name)).toEqual(['k']);
    const sizes: number[] = [];
    for await (const batch of stream) sizes.push(batch.numRows);
    expect(sizes).toEqual([1_000, 500, 1_000, 500, 1_000, 500]); // each stored batch re-chunked by 1000
  });

  it('maps the server errors by gRPC status when there is no Hangar detail', async () => {
    await expect(client.getFlightInfo(pathDescriptor('missing'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.doGet(JSON.stringify(['missing'])).readAll()).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.doAction('fail').toArray()).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(client.doAction('nope').toArray()).rejects.toBeInstanceOf(UnimplementedError);
    const unknown = await client.getFlightInfo(commandDescriptor('{}')).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(FlightCallError);
    expect((unknown as FlightCallError).message).toContain('only PATH descriptors are supported');
  });
});
