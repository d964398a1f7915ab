// Flight SQL on Hangar's Flight port, end to end against a real HangarServer with authentication:
// statement queries (tickets bound to the caller's token), catalog metadata under scoped tokens,
// SqlInfo, prepared statements with parameters bound by DoPut, bulk ingest, and what is refused.
import { Field, Float64, Int64, Schema, Table, Utf8, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, commandDescriptor, pathDescriptor } from '../../src/client/flight-client.js';
import type { HangarError } from '../../src/client/index.js';
import { parseScopes } from '../../src/server/auth/scopes.js';
import { decodeEncapsulatedSchema } from '../../src/format/ipc-message.js';
import { ProtoWriter, readFields } from '../../src/flight/protobuf-wire.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { decodeAny, encodeAny, encodeCommandStatementQuery, encodeHandleCommand } from '../../src/server/flight-sql/flight-sql-messages.js';
import { seededRandom } from '../helpers/seeded-random.js';

const SECRET = 'flight-sql-test-secret-0123456789abcdef';

let server: HangarServer;
let admin: FlightClient;
const token = (scope: string, sub = 'tester'): string => server.authenticator.issue(sub, parseScopes(scope));
const connect = (bearer: string, headers: Record<string, string> = {}): FlightClient =>
  FlightClient.connect(server.location, { headers: { authorization: `Bearer ${bearer}`, ...headers } });

const prices = tableFromArrays({
  sym: ['AAA', 'BBB', 'AAA', 'CCC'],
  px: Float64Array.from([10, 20, 11, 30]),
  qty: BigInt64Array.from([1n, 2n, 3n, 4n]),
});

/** Encodes a catalog command with string fields (and an optional bool include_schema = 5). */
function command(name: string, strings: Record<number, string> = {}, includeSchema = false, repeated: Record<number, string[]> = {}): Uint8Array {
  const writer = new ProtoWriter();
  for (const [field, value] of Object.entries(strings)) writer.string(Number(field), value);
  for (const [field, values] of Object.entries(repeated)) for (const value of values) writer.string(Number(field), value);
  writer.varint(5, includeSchema);
  return encodeAny(name, writer.finish());
}

/** GetFlightInfo then DoGet of the one endpoint, as every Flight SQL client does. */
async function fetchCommand(client: FlightClient, cmd: Uint8Array): Promise<Table> {
  const info = await client.getFlightInfo(commandDescriptor(cmd));
  expect(info.endpoint).toHaveLength(1);
  const table = await client.doGet(info.endpoint[0]!.ticket!).readAll();
  // The schema announced before execution is the one the data arrives with.
  expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(info.schema!.fields.map((f) => `${f.name}:${String(f.type)}`));
  return table;
}

async function rejection(promise: Promise<unknown>): Promise<HangarError> {
  try {
    await promise;
  } catch (error) {
    return error as HangarError;
  }
  throw new Error('expected the call to fail');
}

/** A DoAction with a Flight SQL request message packed in an Any; returns the result bodies. */
async function action(client: FlightClient, type: string, name: string, message: Uint8Array): Promise<Uint8Array[]> {
  return client.doAction(type, encodeAny(name, message)).toArray();
}

beforeAll(async () => {
  server = await HangarServer.start({ port: 0, data: 'memory:', auth: { secret: SECRET } });
  admin = connect(token('admin', 'root'));
  await admin.doPut(pathDescriptor('prices', 'alpha'), prices);
  await admin.doPut(pathDescriptor('prices_old', 'alpha'), prices);
  await admin.doPut(pathDescriptor('secret', 'beta'), prices);
});

afterAll(async () => {
  admin.close();
  await server.close();
});

describe('statement queries', () => {
  it('runs a query: schema before execution, one ticket, the rows by DoGet', async () => {
    const client = connect(token('read:alpha'), { bucket: 'alpha' });
    const table = await fetchCommand(client, encodeCommandStatementQuery('SELECT sym, sum(qty)::BIGINT AS total FROM prices GROUP BY sym ORDER BY sym'));
    expect(table.toArray().map((row) => [row.sym, row.total])).toEqual([
      ['AAA', 4n],
      ['BBB', 2n],
      ['CCC', 4n],
    ]);
    client.close();
  });

  it('answers GetSchema of a query without running it', async () => {
    const schema = await admin.getSchema(commandDescriptor(encodeCommandStatementQuery('SELECT px * 2 AS double_px FROM alpha.prices')));
    expect(schema.fields.map((f) => [f.name, String(f.type)])).toEqual([['double_px', 'Float64']]);
    expect(schema.fields[0]!.metadata.get('ARROW:FLIGHT:SQL:TYPE_NAME')).toBe('DOUBLE');
  });

  it('refuses a statement ticket redeemed with another token', async () => {
    const owner = connect(token('read:alpha', 'owner'), { bucket: 'alpha' });
    const info = await owner.getFlightInfo(commandDescriptor(encodeCommandStatementQuery('SELECT count(*) AS n FROM alpha.prices')));
    const thief = FlightClient.connect(server.location, {
      headers: { authorization: `Bearer ${server.authenticator.issue('owner', parseScopes('read:alpha'), 3600)}`, bucket: 'alpha' },
    });
    // Same subject and scopes, but another token: still refused.
    const error = await rejection(thief.doGet(info.endpoint[0]!.ticket!).readAll());
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.message).toMatch(/another credential/);
    expect((await owner.doGet(info.endpoint[0]!.ticket!).readAll()).getChild('n')!.get(0)).toBe(4n);
    owner.close();
    thief.close();
  });

  it('refuses a forged statement ticket', async () => {
    const forged = encodeHandleCommand('TicketStatementQuery', Buffer.alloc(64, 7));
    const error = await rejection(admin.doGet(forged).readAll());
    expect(error.code).toBe('INVALID_ARGUMENT');
  });

  it('keeps a scoped token to its buckets', async () => {
    const client = connect(token('read:alpha'), { bucket: 'alpha' });
    const error = await rejection(client.getFlightInfo(commandDescriptor(encodeCommandStatementQuery('SELECT * FROM beta.secret'))));
    expect(error.code).toBe('PERMISSION_DENIED');
    client.close();
    // Without the bucket header, unqualified names resolve in `default`, which it may not read: the
    // refusal says which header picks the bucket.
    const headerless = connect(token('read:alpha'));
    const refused = await rejection(headerless.getFlightInfo(commandDescriptor(encodeCommandStatementQuery('SELECT * FROM alpha.prices'))));
    expect(refused.code).toBe('PERMISSION_DENIED');
    expect(refused.message).toMatch(/send the call header "bucket"/);
    headerless.close();
  });

  it('refuses statements that change data, as the read-only SqlInfo says', async () => {
    const error = await rejection(admin.getFlightInfo(commandDescriptor(encodeCommandStatementQuery('CREATE TABLE t AS SELECT 1'))));
    expect(error.code).toBe('PERMISSION_DENIED');
    const update = encodeAny('CommandStatementUpdate', new ProtoWriter().string(1, 'DELETE FROM alpha.prices').finish());
    const refused = await rejection(admin.doPut(commandDescriptor(update), prices));
    expect(refused.code).toBe('PERMISSION_DENIED');
    expect(refused.message).toMatch(/read-only for SQL/);
  });

  it('travels in time with the as_of header', async () => {
    await admin.doPut(pathDescriptor('moving', 'alpha'), tableFromArrays({ v: Float64Array.from([1]) }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await admin.doPut(commandDescriptor(JSON.stringify({ name: 'moving', bucket: 'alpha', mode: 'append' })), tableFromArrays({ v: Float64Array.from([2]) }));
    const past = connect(token('read:alpha'), { bucket: 'alpha', as_of: between });
    const table = await fetchCommand(past, encodeCommandStatementQuery('SELECT count(*) AS n FROM moving'));
    expect(table.getChild('n')!.get(0)).toBe(1n);
    past.close();
    // The same from plain SQL, per query: a leading as_of comment.
    const hinted = await fetchCommand(admin, encodeCommandStatementQuery(`/* as_of: ${between} */ SELECT count(*) AS n FROM alpha.moving`));
    expect(hinted.getChild('n')!.get(0)).toBe(1n);
    const now = await fetchCommand(admin, encodeCommandStatementQuery('SELECT count(*) AS n FROM alpha.moving'));
    expect(now.getChild('n')!.get(0)).toBe(2n);
  });
});

describe('catalog metadata', () => {
  it('lists one catalog and, per token, only readable buckets', async () => {
    expect((await fetchCommand(admin, command('CommandGetCatalogs'))).getChild('catalog_name')!.toArray()).toEqual(['hangar']);
    const all = await fetchCommand(admin, command('CommandGetDbSchemas'));
    expect([...all.getChild('db_schema_name')!]).toEqual(expect.arrayContaining(['alpha', 'beta']));
    const client = connect(token('read:alpha'));
    const scoped = await fetchCommand(client, command('CommandGetDbSchemas'));
    expect([...scoped.getChild('db_schema_name')!]).toEqual(['alpha']);
    const tables = await fetchCommand(client, command('CommandGetTables'));
    expect([...tables.getChild('db_schema_name')!]).not.toContain('beta');
    client.close();
  });

  it('filters tables with LIKE patterns and returns their schemas', async () => {
    const table = await fetchCommand(admin, command('CommandGetTables', { 2: 'alp%', 3: 'prices\\_o_d' }, true, { 4: ['TABLE'] }));
    expect(table.numRows).toBe(1);
    const row = table.get(0)!;
    expect([row.catalog_name, row.db_schema_name, row.table_name, row.table_type]).toEqual(['hangar', 'alpha', 'prices_old', 'TABLE']);
    const schema = decodeEncapsulatedSchema(row.table_schema as Uint8Array);
    expect(schema.fields.map((f) => f.name)).toEqual(['sym', 'px', 'qty']);
    // Each column carries the spec's ARROW:FLIGHT:SQL metadata: where it lives and its SQL type.
    expect(schema.fields.map((f) => f.metadata.get('ARROW:FLIGHT:SQL:TYPE_NAME'))).toEqual(['VARCHAR', 'DOUBLE', 'BIGINT']);
    const qty = schema.fields[2]!.metadata;
    expect([qty.get('ARROW:FLIGHT:SQL:DB_SCHEMA_NAME'), qty.get('ARROW:FLIGHT:SQL:TABLE_NAME'), qty.get('ARROW:FLIGHT:SQL:PRECISION')]).toEqual([
      'alpha',
      'prices_old',
      '19',
    ]);
    const views = await fetchCommand(admin, command('CommandGetTables', {}, false, { 4: ['VIEW'] }));
    expect(views.numRows).toBe(0);
    expect((await fetchCommand(admin, command('CommandGetTableTypes'))).getChild('table_type')!.toArray()).toEqual(['TABLE']);
  });

  it('answers keys and type info with valid, empty or filled tables', async () => {
    const keys = await fetchCommand(admin, command('CommandGetPrimaryKeys', { 3: 'prices' }));
    expect(keys.numRows).toBe(0);
    expect(keys.schema.fields.map((f) => f.name)).toEqual(['catalog_name', 'db_schema_name', 'table_name', 'column_name', 'key_name', 'key_sequence']);
    expect((await fetchCommand(admin, command('CommandGetImportedKeys', { 3: 'prices' }))).schema.fields).toHaveLength(13);
    const types = await fetchCommand(admin, command('CommandGetXdbcTypeInfo'));
    expect([...types.getChild('type_name')!]).toEqual(expect.arrayContaining(['BIGINT', 'VARCHAR', 'DOUBLE', 'TIMESTAMP']));
  });

  it('answers SqlInfo: name, read-only SQL, bulk ingest, quoting', async () => {
    const info = new ProtoWriter().bytes(1, Uint8Array.from([0, 3, 10, 0xf8, 0x03])).finish(); // packed: 0, 3, 10, 504
    const table = await fetchCommand(admin, encodeAny('CommandGetSqlInfo', info));
    const values = new Map(table.toArray().map((row) => [row.info_name as number, row.value as unknown]));
    expect(values).toEqual(
      new Map<number, unknown>([
        [0, 'Hangar'],
        [3, true],
        [10, true],
        [504, '"'],
      ]),
    );
  });
});

describe('prepared statements', () => {
  it('prepares with dataset and parameter schemas, binds by DoPut, runs, closes', async () => {
    const client = connect(token('read:alpha'), { bucket: 'alpha' });
    const [body] = await action(client, 'CreatePreparedStatement', 'ActionCreatePreparedStatementRequest',
      new ProtoWriter().string(1, 'SELECT sym, qty FROM prices WHERE qty >= ? ORDER BY qty').finish());
    const result = decodeAny(body!)!;
    expect(result.typeUrl).toMatch(/ActionCreatePreparedStatementResult$/);
    const fields = readFields(result.value, 'ActionCreatePreparedStatementResult');
    const handle = fields.find((f) => f.field === 1)!.bytes!;
    expect(decodeEncapsulatedSchema(fields.find((f) => f.field === 2)!.bytes!).fields.map((f) => f.name)).toEqual(['sym', 'qty']);
    const parameterSchema = decodeEncapsulatedSchema(fields.find((f) => f.field === 3)!.bytes!);
    expect(parameterSchema.fields.map((f) => String(f.type))).toEqual(['Int64']);

    const query = encodeHandleCommand('CommandPreparedStatementQuery', handle);
    const unbound = await rejection(client.getFlightInfo(commandDescriptor(query)));
    expect(unbound.message).toMatch(/bind them with DoPut/);
    const parameters = new Table(new Schema([new Field('1', new Int64())]), { 1: vectorFromArray([3n], new Int64()) });
    const [ack] = await client.doPut(commandDescriptor(query), parameters);
    expect(readFields(ack!, 'DoPutPreparedStatementResult').find((f) => f.field === 1)!.bytes).toEqual(handle);
    const rows = await fetchCommand(client, query);
    expect(rows.toArray().map((row) => [row.sym, row.qty])).toEqual([
      ['AAA', 3n],
      ['CCC', 4n],
    ]);

    // Another token may not use the statement.
    const other = connect(token('read:alpha', 'someone-else'), { bucket: 'alpha' });
    expect((await rejection(other.getFlightInfo(commandDescriptor(query)))).code).toBe('PERMISSION_DENIED');
    other.close();

    await action(client, 'ClosePreparedStatement', 'ActionClosePreparedStatementRequest', new ProtoWriter().bytes(1, handle).finish());
    expect((await rejection(client.getFlightInfo(commandDescriptor(query)))).code).toBe('NOT_FOUND');
    client.close();
  });

  it('refuses more than one row of parameters and malformed commands with INVALID_ARGUMENT', async () => {
    const [body] = await action(admin, 'CreatePreparedStatement', 'ActionCreatePreparedStatementRequest',
      new ProtoWriter().string(1, 'SELECT count(*) AS n FROM alpha.prices WHERE qty >= ?').finish());
    const handle = readFields(decodeAny(body!)!.value, 'ActionCreatePreparedStatementResult').find((f) => f.field === 1)!.bytes!;
    const query = encodeHandleCommand('CommandPreparedStatementQuery', handle);
    const twoRows = new Table(new Schema([new Field('1', new Int64())]), { 1: vectorFromArray([1n, 2n], new Int64()) });
    const error = await rejection(admin.doPut(commandDescriptor(query), twoRows));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/bind one row per execution/);
    const truncated = encodeAny('CommandGetTables', Uint8Array.from([0x12, 0x09, 0x61]));
    expect((await rejection(admin.getFlightInfo(commandDescriptor(truncated)))).code).toBe('INVALID_ARGUMENT');
    // GetSchema of a catalog command answers the spec's schema without running it.
    const schema = await admin.getSchema(commandDescriptor(command('CommandGetTables', {}, true)));
    expect(schema.fields.map((f) => `${f.name}:${f.nullable}`)).toEqual([
      'catalog_name:true',
      'db_schema_name:true',
      'table_name:false',
      'table_type:false',
      'table_schema:false',
    ]);
  });

  it('asks for a cast when a result column is a bare parameter', async () => {
    const error = await rejection(action(admin, 'CreatePreparedStatement', 'ActionCreatePreparedStatementRequest', new ProtoWriter().string(1, 'SELECT ? AS x').finish()));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/cast the parameter/);
  });

  it('refuses transactions with UNIMPLEMENTED', async () => {
    const error = await rejection(action(admin, 'BeginTransaction', 'ActionBeginTransactionRequest', new Uint8Array(0)));
    expect(error.code).toBe('UNIMPLEMENTED');
  });

  it('lists the Flight SQL actions after Hangar\'s', async () => {
    const types = (await admin.listActions()).map((a) => a.type);
    expect(types).toEqual(expect.arrayContaining(['ping', 'CreatePreparedStatement', 'ClosePreparedStatement']));
  });
});

describe('bulk ingest', () => {
  /** CommandStatementIngest with table options (if_not_exist, if_exists), table and bucket. */
  const ingest = (table: string, ifNotExist: number, ifExists: number, bucket = 'alpha'): Uint8Array =>
    encodeAny(
      'CommandStatementIngest',
      new ProtoWriter()
        .bytes(1, new ProtoWriter().varint(1, ifNotExist).varint(2, ifExists).finish())
        .string(2, table)
        .string(3, bucket)
        .finish(),
    );
  const rows = (n: number): Table => new Table({ name: vectorFromArray(Array.from({ length: n }, (_, i) => `r${i}`), new Utf8()) });
  const count = async (name: string): Promise<bigint> =>
    (await fetchCommand(admin, encodeCommandStatementQuery(`SELECT count(*) AS n FROM alpha.${name}`))).getChild('n')!.get(0) as bigint;
  const recordCount = (ack: Uint8Array): number => readFields(ack, 'DoPutUpdateResult').find((f) => f.field === 1)?.varint ?? 0;

  it('creates, appends, replaces and create-appends as ADBC asks', async () => {
    const [created] = await admin.doPut(commandDescriptor(ingest('ingested', 1, 1)), rows(3));
    expect(recordCount(created!)).toBe(3);
    expect(await count('ingested')).toBe(3n);
    expect((await rejection(admin.doPut(commandDescriptor(ingest('ingested', 1, 1)), rows(1)))).code).toBe('ALREADY_EXISTS');
    await admin.doPut(commandDescriptor(ingest('ingested', 2, 2)), rows(2));
    expect(await count('ingested')).toBe(5n);
    await admin.doPut(commandDescriptor(ingest('ingested', 1, 3)), rows(1));
    expect(await count('ingested')).toBe(1n);
    await admin.doPut(commandDescriptor(ingest('fresh', 1, 2)), rows(2));
    await admin.doPut(commandDescriptor(ingest('fresh', 1, 2)), rows(2));
    expect(await count('fresh')).toBe(4n);
    expect((await rejection(admin.doPut(commandDescriptor(ingest('missing', 2, 2)), rows(1)))).code).toBe('NOT_FOUND');
  });

  it('needs write access to the bucket', async () => {
    const reader = connect(token('read:alpha'));
    expect((await rejection(reader.doPut(commandDescriptor(ingest('nope', 1, 1)), rows(1)))).code).toBe('PERMISSION_DENIED');
    reader.close();
  });
});

describe('hostile Flight SQL input', () => {
  const COMMANDS = [
    'CommandStatementQuery', 'CommandPreparedStatementQuery', 'CommandGetSqlInfo', 'CommandGetXdbcTypeInfo', 'CommandGetCatalogs',
    'CommandGetDbSchemas', 'CommandGetTables', 'CommandGetTableTypes', 'CommandGetPrimaryKeys', 'CommandGetCrossReference',
    'CommandStatementIngest', 'CommandStatementUpdate', 'TicketStatementQuery', 'CommandStatementSubstraitPlan',
  ];
  const EXPECTED = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'PERMISSION_DENIED', 'UNIMPLEMENTED', 'ALREADY_EXISTS']);

  it('answers random command bodies with a refusal or a result, never INTERNAL, and keeps serving', async () => {
    const random = seededRandom(21);
    const codes = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const name = COMMANDS[Math.floor(random() * COMMANDS.length)]!;
      const body = Uint8Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
      const cmd = encodeAny(name, body);
      const action = random() < 0.5 ? 'CreatePreparedStatement' : 'ClosePreparedStatement';
      const calls: (() => Promise<unknown>)[] = [
        () => admin.getFlightInfo(commandDescriptor(cmd)),
        () => admin.doGet(cmd).readAll(),
        () => admin.doAction(action, body).toArray(),
      ];
      for (const call of calls) {
        try {
          await call();
          codes.set('OK', (codes.get('OK') ?? 0) + 1);
        } catch (error) {
          const code = (error as HangarError).code;
          codes.set(code, (codes.get(code) ?? 0) + 1);
          expect(EXPECTED.has(code), `${name} ${Buffer.from(body).toString('hex')}: ${code} ${(error as Error).message}`).toBe(true);
        }
      }
    }
    expect(codes.get('INVALID_ARGUMENT')).toBeGreaterThan(0);
    expect((await admin.listActions()).length).toBeGreaterThan(0);
  });
});
