// Flight SQL's hand-written pieces without a server: message decoding against the spec's field
// numbers and encodings, LIKE patterns, statement tickets, the read-only statement check.
import { describe, expect, it } from 'vitest';
import { CallMetadata } from '../../src/grpc/metadata.js';
import { ProtoWriter } from '../../src/flight/protobuf-wire.js';
import {
  TableExistsOption,
  TableNotExistOption,
  decodeAny,
  decodeCreatePreparedStatementRequest,
  decodeFlightSqlCommand,
  encodeAny,
} from '../../src/server/flight-sql/flight-sql-messages.js';
import { likeMatcher } from '../../src/server/flight-sql/like-pattern.js';
import { StatementTickets, credentialOf } from '../../src/server/flight-sql/statement-tickets.js';
import { refuseWriteStatement } from '../../src/server/flight-sql/write-statements.js';

const decode = (name: string, message: Uint8Array) => decodeFlightSqlCommand(decodeAny(encodeAny(name, message))!);

/** A varint field written by hand, for values ProtoWriter refuses (negative int32 as 10 bytes). */
function int64Field(field: number, value: bigint): Uint8Array {
  const bytes = [field << 3];
  let rest = BigInt.asUintN(64, value);
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest !== 0n);
  return Uint8Array.from(bytes);
}

describe('Flight SQL messages', () => {
  it('tells a Flight SQL Any from Hangar\'s JSON commands', () => {
    expect(decodeAny(Buffer.from('{"sql":"SELECT 1"}'))).toBeUndefined();
    expect(decodeAny(new Uint8Array(0))).toBeUndefined();
    const any = decodeAny(encodeAny('CommandGetCatalogs', new Uint8Array(0)))!;
    expect(any.typeUrl).toBe('type.googleapis.com/arrow.flight.protocol.sql.CommandGetCatalogs');
    expect(() => decodeFlightSqlCommand({ typeUrl: 'type.googleapis.com/other.Thing', value: new Uint8Array(0) })).toThrow(/expected a Flight SQL command/);
    expect(() => decode('CommandNoSuchThing', new Uint8Array(0))).toThrow(/does not know the Flight SQL command CommandNoSuchThing/);
  });

  it('reads SqlInfo ids packed (the proto3 default) and unpacked', () => {
    const packed = new ProtoWriter().bytes(1, Uint8Array.from([0, 3, 0xf8, 0x03])).finish();
    expect(decode('CommandGetSqlInfo', packed)).toEqual({ kind: 'CommandGetSqlInfo', info: [0, 3, 504] });
    const unpacked = Buffer.concat([Uint8Array.from([0x08, 0x00]), Uint8Array.from([0x08, 0xf8, 0x03])]);
    expect(decode('CommandGetSqlInfo', unpacked)).toEqual({ kind: 'CommandGetSqlInfo', info: [0, 504] });
  });

  it('keeps proto3 optional presence: an empty catalog is not an absent one', () => {
    expect(decode('CommandGetDbSchemas', new Uint8Array(0))).toEqual({ kind: 'CommandGetDbSchemas' });
    const empty = Uint8Array.from([0x0a, 0x00]); // field 1, length 0
    expect(decode('CommandGetDbSchemas', empty)).toEqual({ kind: 'CommandGetDbSchemas', catalog: '' });
  });

  it('reads CommandGetTables with every field', () => {
    const message = new ProtoWriter().string(1, 'hangar').string(2, 'a%').string(3, 't_').string(4, 'TABLE').string(4, 'VIEW').varint(5, true).finish();
    expect(decode('CommandGetTables', message)).toEqual({
      kind: 'CommandGetTables',
      catalog: 'hangar',
      dbSchemaFilterPattern: 'a%',
      tableNameFilterPattern: 't_',
      tableTypes: ['TABLE', 'VIEW'],
      includeSchema: true,
    });
  });

  it('reads a negative XDBC type code as int32', () => {
    expect(decode('CommandGetXdbcTypeInfo', int64Field(1, -5n))).toEqual({ kind: 'CommandGetXdbcTypeInfo', dataType: -5 });
  });

  it('reads CommandStatementIngest with its table options and backend options', () => {
    const entry = new ProtoWriter().string(1, 'k').string(2, 'v').finish();
    const message = new ProtoWriter()
      .bytes(1, new ProtoWriter().varint(1, TableNotExistOption.Create).varint(2, TableExistsOption.Replace).finish())
      .string(2, 'fills')
      .string(3, 'market')
      .bytes(1000, entry)
      .finish();
    const command = decode('CommandStatementIngest', message);
    expect(command).toMatchObject({ kind: 'CommandStatementIngest', ifNotExist: 1, ifExists: 3, table: 'fills', schema: 'market', temporary: false });
    expect(command.kind === 'CommandStatementIngest' && [...command.options]).toEqual([['k', 'v']]);
  });

  it('reads a CreatePreparedStatement body packed in an Any or bare, and refuses another message', () => {
    const request = new ProtoWriter().string(1, 'SELECT 1').finish();
    expect(decodeCreatePreparedStatementRequest(encodeAny('ActionCreatePreparedStatementRequest', request)).query).toBe('SELECT 1');
    expect(decodeCreatePreparedStatementRequest(request).query).toBe('SELECT 1');
    expect(() => decodeCreatePreparedStatementRequest(encodeAny('ActionClosePreparedStatementRequest', request))).toThrow(/expected ActionCreatePreparedStatementRequest/);
  });

  it('refuses truncated messages as INVALID_ARGUMENT', () => {
    expect(() => decode('CommandStatementQuery', Uint8Array.from([0x0a, 0x05, 0x41]))).toThrow(/malformed CommandStatementQuery/);
  });
});

describe('LIKE patterns', () => {
  it('matches % and _ and honours \\ escapes', () => {
    expect(likeMatcher(undefined)('anything')).toBe(true);
    expect(likeMatcher('tr%')('trades')).toBe(true);
    expect(likeMatcher('tr%')('xtrades')).toBe(false);
    expect(likeMatcher('t_ades')('trades')).toBe(true);
    expect(likeMatcher('prices\\_v_')('prices_v1')).toBe(true);
    expect(likeMatcher('prices\\_v_')('pricesXv1')).toBe(false);
    expect(likeMatcher('a.b')('axb')).toBe(false);
    expect(likeMatcher('%')('')).toBe(true);
  });
});

describe('statement tickets', () => {
  it('redeem only for the credential they were issued to, unaltered and in time', async () => {
    const tickets = new StatementTickets(50);
    const alice = credentialOf(new CallMetadata({ authorization: 'Bearer aaa' }));
    const bob = credentialOf(new CallMetadata({ authorization: 'Bearer bbb' }));
    const handle = tickets.issue({ sql: 'SELECT ?', bucket: 'b', parameters: [5n, 'x', null, { timestampMicros: 1n }] }, alice);
    expect(tickets.redeem(handle, alice)).toEqual({ sql: 'SELECT ?', bucket: 'b', parameters: [5n, 'x', null, { timestampMicros: 1n }] });
    expect(() => tickets.redeem(handle, bob)).toThrow(/another credential/);
    const altered = Buffer.from(handle);
    altered[altered.length - 3]! ^= 1;
    expect(() => tickets.redeem(altered, alice)).toThrow(/not issued by this server/);
    expect(() => new StatementTickets().redeem(handle, alice)).toThrow(/not issued by this server/);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(() => tickets.redeem(handle, alice)).toThrow(/expired/);
  });
});

describe('read-only statements', () => {
  it('refuses statements that write, past comments and parentheses, and lets queries through', () => {
    for (const sql of ['INSERT INTO t VALUES (1)', '  -- note\n delete from t', '/* x */ CREATE TABLE t (a INT)', 'set threads = 1', 'COPY t TO \'f\'']) {
      expect(() => refuseWriteStatement(sql), sql).toThrow(/read-only for SQL/);
    }
    for (const sql of ['SELECT 1', '(SELECT 1)', 'WITH a AS (SELECT 1) SELECT * FROM a', '/* as_of: 2024-01-01T00:00:00Z */ SELECT 1', 'EXPLAIN SELECT 1']) {
      expect(() => refuseWriteStatement(sql), sql).not.toThrow();
    }
  });
});
