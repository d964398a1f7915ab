/**
 * Flight SQL requests for the protocol fuzzer: a Flight SQL message (FlightSql.proto, field
 * numbers from the spec) packed in a google.protobuf.Any, in the place a client puts it — a
 * FlightDescriptor CMD (GetFlightInfo, GetSchema, DoPut), a Ticket (DoGet) or an Action body —
 * then mutated at the protobuf layer inside the Any, in the Any itself, or byte by byte.
 */
import { FLIGHT_SQL_TYPE_PREFIX } from '../server/flight-sql/flight-sql-messages.js';
import type { FuzzRandom } from './fuzz-random.js';
import { FUZZ_BUCKET, FUZZ_FRAMES } from './fuzz-json.js';
import { type FuzzField, bytesField, encodeFields, messageField, mutateBytes, mutateFields, stringField, varintField } from './protobuf-fuzz-encoding.js';

/**
 * Small queries over the fuzz frames (and a few the sandbox refuses): the fuzzer mutates their
 * bytes, it does not search for expensive SQL — the SQL limits have their own tests.
 */
const QUERIES = [
  'SELECT 1',
  `SELECT * FROM ${FUZZ_FRAMES[0]} LIMIT 5`,
  `SELECT count(*) FROM ${FUZZ_FRAMES[1]}`,
  `SELECT x, y FROM ${FUZZ_BUCKET}.${FUZZ_FRAMES[0]} WHERE x > ?`,
  'SELECT ? AS p',
  `INSERT INTO ${FUZZ_FRAMES[2]} VALUES (1)`,
  "COPY (SELECT 1) TO '/tmp/x'",
  "SELECT * FROM read_csv('/etc/passwd')",
  'SELECT',
  '',
  `SELECT '${'é'.repeat(300)}'`,
  `SELECT ${'('.repeat(500)}1${')'.repeat(500)}`,
] as const;

/** The commands a descriptor or ticket carries, by name. */
const COMMANDS = [
  'CommandStatementQuery',
  'CommandPreparedStatementQuery',
  'CommandStatementUpdate',
  'CommandPreparedStatementUpdate',
  'CommandStatementIngest',
  'CommandStatementSubstraitPlan',
  'CommandGetCatalogs',
  'CommandGetDbSchemas',
  'CommandGetTables',
  'CommandGetTableTypes',
  'CommandGetSqlInfo',
  'CommandGetXdbcTypeInfo',
  'CommandGetPrimaryKeys',
  'CommandGetExportedKeys',
  'CommandGetImportedKeys',
  'CommandGetCrossReference',
  'TicketStatementQuery',
  'NoSuchCommand',
] as const;

/** The Flight SQL actions (answered or refused by name). */
export const FUZZED_FLIGHT_SQL_ACTIONS = ['CreatePreparedStatement', 'ClosePreparedStatement', 'BeginTransaction', 'EndTransaction', 'CancelQuery', 'CreatePreparedSubstraitPlan'] as const;

/** Where a Flight SQL message travels, and so which RPC the case calls. */
export type FlightSqlCarrier = 'GetFlightInfo' | 'GetSchema' | 'DoGet' | 'DoPut' | 'DoAction';

/** A handle: what a server hands out is opaque; the fuzzer sends junk, empty, huge and JSON-shaped ones. */
function handle(random: FuzzRandom, log: string[]): Uint8Array {
  const kind = random.int(4);
  log.push(`handle ${kind}`);
  if (kind === 0) return new Uint8Array(0);
  if (kind === 1) return Buffer.from(JSON.stringify({ sql: random.pick(QUERIES), bucket: FUZZ_BUCKET }));
  if (kind === 2) return random.bytes(random.size(random.chance(0.05) ? 65_536 : 64));
  return Buffer.from(random.pick(['{', 'null', '[]', '{"id":1e309}', 'x'.repeat(200)]));
}

/** A LIKE pattern, as the catalog commands take them. */
function pattern(random: FuzzRandom): string {
  return random.pick(['%', FUZZ_BUCKET, 'f_', '%%%%', '\\', '[a-z]*', '', 'é%', '%'.repeat(1000), `${'_%'.repeat(200)}x`]);
}

/** The fields of a Flight SQL command of `name`, valid per the spec (before mutation). */
function commandFields(random: FuzzRandom, name: string, log: string[]): FuzzField[] {
  switch (name) {
    case 'CommandStatementQuery':
    case 'CommandStatementUpdate':
      return [stringField(1, random.pick(QUERIES)), ...(random.chance(0.05) ? [bytesField(2, random.bytes(8))] : [])];
    case 'CommandPreparedStatementQuery':
    case 'CommandPreparedStatementUpdate':
    case 'TicketStatementQuery':
      return [bytesField(1, handle(random, log))];
    case 'CommandStatementIngest':
      return [
        messageField(1, [varintField(1, random.int(4)), varintField(2, random.int(5))]),
        stringField(2, random.pick([...FUZZ_FRAMES, '', '../x', 'a.b', 'x'.repeat(300)])),
        ...(random.chance(0.5) ? [stringField(3, random.pick([FUZZ_BUCKET, '', 'Bad Name']))] : []),
        ...(random.chance(0.3) ? [stringField(4, random.pick(['hangar', 'other']))] : []),
        ...(random.chance(0.2) ? [varintField(5, 1)] : []),
        ...(random.chance(0.1) ? [bytesField(6, random.bytes(4))] : []),
        ...(random.chance(0.3) ? [messageField(1000, [stringField(1, random.pick(['k', ''])), stringField(2, 'v')])] : []),
      ];
    case 'CommandGetDbSchemas':
      return [...(random.chance(0.5) ? [stringField(1, random.pick(['hangar', '', 'x']))] : []), ...(random.chance(0.7) ? [stringField(2, pattern(random))] : [])];
    case 'CommandGetTables':
      return [
        ...(random.chance(0.5) ? [stringField(1, 'hangar')] : []),
        ...(random.chance(0.6) ? [stringField(2, pattern(random))] : []),
        ...(random.chance(0.6) ? [stringField(3, pattern(random))] : []),
        ...Array.from({ length: random.int(3) }, () => stringField(4, random.pick(['TABLE', 'VIEW', '']))),
        varintField(5, random.int(2)),
      ];
    case 'CommandGetSqlInfo':
      return Array.from({ length: random.int(6) }, () => varintField(1, random.pick([0n, 1n, 500n, 4294967295n, -1n, BigInt(random.int(600))])));
    case 'CommandGetXdbcTypeInfo':
      return random.chance(0.7) ? [varintField(1, random.pick([-5n, 4n, 12n, 0n, -1n, 2n ** 40n]))] : [];
    case 'CommandGetPrimaryKeys':
    case 'CommandGetExportedKeys':
    case 'CommandGetImportedKeys':
      return [...(random.chance(0.5) ? [stringField(1, 'hangar')] : []), ...(random.chance(0.5) ? [stringField(2, FUZZ_BUCKET)] : []), stringField(3, random.pick([...FUZZ_FRAMES, '']))];
    case 'CommandGetCrossReference':
      return [stringField(3, FUZZ_FRAMES[0]), stringField(6, FUZZ_FRAMES[1])];
    default:
      return random.chance(0.5) ? [stringField(1, 'x')] : [];
  }
}

/** The fields of an action's request message. */
function actionFields(random: FuzzRandom, type: string, log: string[]): FuzzField[] {
  if (type === 'CreatePreparedStatement') return [stringField(1, random.pick(QUERIES)), ...(random.chance(0.05) ? [bytesField(2, random.bytes(8))] : [])];
  if (type === 'ClosePreparedStatement') return [bytesField(1, handle(random, log))];
  return random.chance(0.5) ? [bytesField(1, random.bytes(random.size(32)))] : [];
}

/** The request message names of the actions (what their Any's type URL says). */
const ACTION_MESSAGES: Readonly<Record<string, string>> = {
  CreatePreparedStatement: 'ActionCreatePreparedStatementRequest',
  ClosePreparedStatement: 'ActionClosePreparedStatementRequest',
  BeginTransaction: 'ActionBeginTransactionRequest',
  EndTransaction: 'ActionEndTransactionRequest',
  CancelQuery: 'ActionCancelQueryRequest',
  CreatePreparedSubstraitPlan: 'ActionCreatePreparedSubstraitPlanRequest',
};

/**
 * A google.protobuf.Any {type_url = 1, value = 2} around `inner`, itself perhaps mutated; the
 * Any's own fields are mutated in some cases (type URLs of other packages, none, two).
 */
function anyOf(random: FuzzRandom, messageName: string, inner: FuzzField[], log: string[], valid: boolean): Uint8Array {
  let fields = inner;
  if (!valid && random.chance(0.6)) for (let n = random.between(1, 3); n > 0; n--) fields = mutateFields(random, fields, log);
  let typeUrl = FLIGHT_SQL_TYPE_PREFIX + messageName;
  if (!valid && random.chance(0.15)) {
    typeUrl = random.pick([
      `type.googleapis.com/arrow.flight.protocol.sql.${messageName.toLowerCase()}`,
      'type.googleapis.com/google.protobuf.Empty',
      FLIGHT_SQL_TYPE_PREFIX,
      `${FLIGHT_SQL_TYPE_PREFIX}${'x'.repeat(10_000)}`,
      `${FLIGHT_SQL_TYPE_PREFIX}__proto__`,
      `${FLIGHT_SQL_TYPE_PREFIX}constructor`,
    ]);
    log.push(`type url ${typeUrl.slice(0, 60)}`);
  }
  let any: FuzzField[] = [stringField(1, typeUrl), messageField(2, fields)];
  if (!valid && random.chance(0.3)) for (let n = random.between(1, 2); n > 0; n--) any = mutateFields(random, any, log);
  // The Any must still start with tag 0x0a to be taken for one: keep field 1 first in most cases.
  return encodeFields(any);
}

/** One Flight SQL request: the RPC and the request messages' fields (Flight's own messages around the Any). */
export function flightSqlRequest(random: FuzzRandom, log: string[], valid: boolean): { method: FlightSqlCarrier; messages: FuzzField[][] } {
  const carrier = random.pick<FlightSqlCarrier>(['GetFlightInfo', 'GetFlightInfo', 'GetSchema', 'DoGet', 'DoAction', 'DoAction', 'DoPut']);
  log.push(`flight sql via ${carrier}`);
  if (carrier === 'DoAction') {
    const type = random.pick(FUZZED_FLIGHT_SQL_ACTIONS);
    // Some clients send the request message bare, not in an Any: the server takes both.
    const fields = actionFields(random, type, log);
    const body = random.chance(0.2) ? encodeFields(valid ? fields : mutateFields(random, fields, log)) : anyOf(random, ACTION_MESSAGES[type]!, fields, log, valid);
    return { method: carrier, messages: [[stringField(1, type), bytesField(2, body)]] };
  }
  const name = carrier === 'DoGet' ? random.pick(['TicketStatementQuery', 'TicketStatementQuery', ...COMMANDS]) : carrier === 'DoPut' ? random.pick(['CommandStatementIngest', 'CommandStatementUpdate', 'CommandPreparedStatementQuery', 'CommandPreparedStatementUpdate', 'CommandStatementQuery']) : random.pick(COMMANDS);
  log.push(`command ${name}`);
  const any = anyOf(random, name, commandFields(random, name, log), log, valid);
  const payload = !valid && random.chance(0.15) ? mutateBytes(random, any, log) : any;
  if (carrier === 'DoGet') return { method: carrier, messages: [[bytesField(1, payload)]] };
  const descriptor = [varintField(1, 2), bytesField(2, payload)];
  if (carrier !== 'DoPut') return { method: carrier, messages: [descriptor] };
  // DoPut: the descriptor with a small Arrow stream's schema message (parameters or rows to ingest) is
  // left to the generic FlightData fuzzing; here the command is what is fuzzed.
  return { method: carrier, messages: [[messageField(1, descriptor)]] };
}
