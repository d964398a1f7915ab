/**
 * Flight SQL on Hangar's Flight port: what GetFlightInfo, GetSchema, DoGet, DoPut and DoAction do
 * with a Flight SQL command (flight-sql-router.ts sends them here). Queries run through the same
 * authorised engine as Hangar's JSON SQL tickets: DuckDB sandbox, limits, scopes and time travel.
 */
import { createRequire } from 'node:module';
import type { Schema, Table } from 'apache-arrow';
import type { HangarEngine } from '../../core/engine.js';
import { InvalidArgumentError, PermissionDeniedError, UnimplementedError } from '../../errors.js';
import type { IpcMessage } from '../../format/ipc-message.js';
import { frameRef, resolveBucket } from '../../names.js';
import type { PutMode } from '../../core/put-mode.js';
import type { QueryContext } from '../../core/sql/sql-engine.js';
import { encodeFlightDataPieces } from '../../flight/flight-data.js';
import { type ActionType, type FlightDescriptor, encodeFlightInfo, encodePutResult, encodeResult, encodeSchemaResult } from '../../flight/flight-messages.js';
import type { CallMetadata } from '../../grpc/metadata.js';
import { allows } from '../auth/scopes.js';
import { currentPrincipal } from '../auth/call-guard.js';
import { parseVersionSelector } from '../dataframe-protocol.js';
import { type PutLimits, ipcMessagesOf } from '../handlers/data-handlers.js';
import type { ServerCall } from '../transport/server-call.js';
import {
  CATALOGS_COLUMNS,
  DB_SCHEMAS_COLUMNS,
  FOREIGN_KEYS_COLUMNS,
  HANGAR_CATALOG,
  PRIMARY_KEYS_COLUMNS,
  TABLE_TYPES_COLUMNS,
  XDBC_TYPE_INFO_COLUMNS,
  catalogsTable,
  dbSchemasTable,
  foreignKeysTable,
  primaryKeysTable,
  tableTypesTable,
  tablesColumns,
  tablesTable,
  xdbcTypeInfoTable,
} from './catalog-metadata.js';
import {
  type FlightSqlCommand,
  TableExistsOption,
  TableNotExistOption,
  decodeClosePreparedStatementRequest,
  decodeCreatePreparedStatementRequest,
  encodeCreatePreparedStatementResult,
  encodeDoPutPreparedStatementResult,
  encodeDoPutUpdateResult,
  encodeHandleCommand,
} from './flight-sql-messages.js';
import { MAX_PARAMETER_BYTES, parameterValuesOf } from './parameter-values.js';
import { PreparedStatements } from './prepared-statements.js';
import { type ColumnSpec, encapsulatedSchema, schemaOf, tableMessages } from './result-tables.js';
import { SQL_INFO_COLUMNS, type SqlInfoValue, hangarSqlInfo, sqlInfoTable } from './sql-info.js';
import { type StatementPlan, StatementTickets, credentialOf } from './statement-tickets.js';
import { refuseWriteStatement } from './write-statements.js';
import { describedSchema } from './column-metadata.js';

/** Call headers a Flight SQL client may send (ADBC `adbc.flight.sql.rpc.call_header.NAME`, JDBC URL properties). */
export const FLIGHT_SQL_HEADERS = {
  /** The bucket whose frames are unqualified table names (default: `default`). */
  bucket: 'bucket',
  /** Time travel: every frame as it was at this ISO-8601 instant. */
  asOf: 'as_of',
} as const;

/** The Flight SQL actions Hangar answers, for ListActions. */
export const FLIGHT_SQL_ACTIONS: readonly ActionType[] = [
  { type: 'CreatePreparedStatement', description: 'Flight SQL: prepares a query (ActionCreatePreparedStatementRequest) and returns its handle and schemas.' },
  { type: 'ClosePreparedStatement', description: 'Flight SQL: closes a prepared statement (ActionClosePreparedStatementRequest).' },
];

/** Flight SQL actions that exist in the spec but that Hangar refuses, with why. */
const REFUSED_ACTIONS: Readonly<Record<string, string>> = {
  BeginTransaction: 'Hangar has no transactions: every put commits on its own (SqlInfo FLIGHT_SQL_SERVER_TRANSACTION is NONE)',
  EndTransaction: 'Hangar has no transactions: every put commits on its own',
  BeginSavepoint: 'Hangar has no transactions or savepoints',
  EndSavepoint: 'Hangar has no transactions or savepoints',
  CreatePreparedSubstraitPlan: 'Hangar runs SQL, not Substrait plans (SqlInfo FLIGHT_SQL_SERVER_SUBSTRAIT is false)',
  CancelQuery: 'cancel a query by cancelling its DoGet call (SqlInfo FLIGHT_SQL_SERVER_CANCEL is false)',
};

const serverVersion = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

/** Options of {@link FlightSqlService}. */
export interface FlightSqlOptions {
  /** Limits of DoPut (bulk ingest and parameter binding), as for Hangar's own DoPut. */
  readonly putLimits?: PutLimits;
}

/** Answers Flight SQL commands with the caller's authorised engine. One per server. */
export class FlightSqlService {
  private readonly tickets = new StatementTickets();
  private readonly prepared = new PreparedStatements();
  private readonly sqlInfo: Map<number, SqlInfoValue> = hangarSqlInfo(serverVersion);

  /**
   * @param engine - the authorised engine (call-guard.ts): every operation checks the caller's scopes
   * @param options - limits
   */
  constructor(
    private readonly engine: HangarEngine,
    private readonly options: FlightSqlOptions = {},
  ) {}

  /** GetFlightInfo of a command: its schema and one endpoint whose ticket DoGet redeems. */
  async getFlightInfo(command: FlightSqlCommand, descriptor: FlightDescriptor, call: ServerCall): Promise<Buffer> {
    const { schema, ticket } = await this.describe(command, descriptor, call, true);
    return encodeFlightInfo({
      schema: encapsulatedSchema(schema),
      flightDescriptor: descriptor,
      endpoint: [{ ticket: { ticket: ticket! }, location: [] }],
      totalRecords: -1,
      totalBytes: -1,
      ordered: true,
    });
  }

  /** GetSchema of a command: the schema its result will have. */
  async getSchema(command: FlightSqlCommand, descriptor: FlightDescriptor, call: ServerCall): Promise<Buffer> {
    const { schema } = await this.describe(command, descriptor, call, false);
    return encodeSchemaResult(encapsulatedSchema(schema));
  }

  /** DoGet of a Flight SQL ticket: a statement's result, or a catalog command's table. */
  async doGet(command: FlightSqlCommand, call: ServerCall): Promise<void> {
    if (command.kind === 'TicketStatementQuery') {
      const plan = this.tickets.redeem(command.handle, credentialOf(call.metadata));
      const stream = await this.engine.query(plan.sql, { ...queryContext(plan), signal: call.signal });
      for await (const message of stream.messages) await call.write(encodeFlightDataPieces({ dataHeader: message.header, dataBody: message.body }));
      return;
    }
    const table = await this.metadataTable(command);
    if (!table) throw new InvalidArgumentError(`a ${command.kind} is not a ticket; DoGet takes the ticket GetFlightInfo returned`);
    await writeMessages(call, tableMessages(table));
  }

  /** DoPut with a Flight SQL command: bulk ingest, or binding a prepared statement's parameters. */
  async doPut(command: FlightSqlCommand, call: ServerCall): Promise<void> {
    const limits = this.options.putLimits ?? {};
    switch (command.kind) {
      case 'CommandStatementIngest': {
        const rows = await this.ingest(command, call, limits);
        await call.write(encodePutResult(encodeDoPutUpdateResult(rows)));
        return;
      }
      case 'CommandPreparedStatementQuery': {
        const owner = credentialOf(call.metadata);
        const statement = this.prepared.get(command.handle, owner);
        const messages: IpcMessage[] = [];
        let bytes = 0;
        for await (const message of ipcMessagesOf(call, () => undefined, limits)) {
          bytes += message.header.byteLength + message.body.byteLength;
          if (bytes > MAX_PARAMETER_BYTES) throw new InvalidArgumentError(`the parameters exceed ${MAX_PARAMETER_BYTES} bytes; bind one row of values`);
          messages.push(message);
        }
        const parameters = parameterValuesOf(messages);
        if (parameters.length !== statement.parameterSchema.fields.length) {
          throw new InvalidArgumentError(
            `the prepared query has ${statement.parameterSchema.fields.length} parameter(s) but ${parameters.length} value(s) were bound`,
          );
        }
        statement.parameters = parameters;
        await call.write(encodePutResult(encodeDoPutPreparedStatementResult(command.handle)));
        return;
      }
      case 'CommandStatementUpdate':
      case 'CommandPreparedStatementUpdate':
        throw new PermissionDeniedError(
          'Hangar is read-only for SQL: UPDATE, INSERT, DELETE and DDL are refused (SqlInfo FLIGHT_SQL_SERVER_READ_ONLY). ' +
            'Write frames with bulk ingest (ADBC adbc_ingest, CommandStatementIngest) or Hangar\'s own DoPut',
        );
      default:
        throw new InvalidArgumentError(`DoPut does not take a ${command.kind}; it takes CommandStatementIngest or CommandPreparedStatementQuery`);
    }
  }

  /**
   * DoAction of a Flight SQL action; answers undefined for an action that is not Flight SQL's.
   * @throws UnimplementedError for transactions, savepoints, Substrait and CancelQuery
   */
  async doAction(type: string, body: Uint8Array, call: ServerCall): Promise<boolean> {
    const owner = credentialOf(call.metadata);
    if (type === 'CreatePreparedStatement') {
      const request = decodeCreatePreparedStatementRequest(body);
      if (request.transactionId) throw new UnimplementedError(REFUSED_ACTIONS.BeginTransaction!);
      const plan = planOf(request.query, call.metadata);
      const context = queryContext(plan);
      const description = await this.engine.describeQuery(plan.sql, context);
      const datasetSchema = describedSchema(description.schema);
      const parameterSchema = description.parameters;
      const handle = this.prepared.create({ ...plan, owner, datasetSchema, parameterSchema });
      const parameters = parameterSchema.fields.length > 0 ? encapsulatedSchema(parameterSchema) : undefined;
      await call.write(encodeResult({ body: encodeCreatePreparedStatementResult(handle, encapsulatedSchema(datasetSchema), parameters) }));
      return true;
    }
    if (type === 'ClosePreparedStatement') {
      this.prepared.close(decodeClosePreparedStatementRequest(body), owner);
      return true;
    }
    const refusal = REFUSED_ACTIONS[type];
    if (refusal) throw new UnimplementedError(`${type} is not supported: ${refusal}`);
    return false;
  }

  /** The schema of a command's result and, for GetFlightInfo, the ticket that fetches it. */
  private async describe(
    command: FlightSqlCommand,
    descriptor: FlightDescriptor,
    call: ServerCall,
    withTicket: boolean,
  ): Promise<{ schema: Schema; ticket?: Uint8Array }> {
    const owner = credentialOf(call.metadata);
    const statementTicket = (plan: StatementPlan): Uint8Array | undefined =>
      withTicket ? encodeHandleCommand('TicketStatementQuery', this.tickets.issue(plan, owner)) : undefined;
    switch (command.kind) {
      case 'CommandStatementQuery': {
        if (command.transactionId) throw new UnimplementedError(REFUSED_ACTIONS.BeginTransaction!);
        const plan = planOf(command.query, call.metadata);
        const schema = describedSchema(await this.engine.querySchema(plan.sql, queryContext(plan)));
        return { schema, ...(withTicket ? { ticket: statementTicket(plan)! } : {}) };
      }
      case 'CommandPreparedStatementQuery': {
        const statement = this.prepared.get(command.handle, owner);
        const plan: StatementPlan = {
          sql: statement.sql,
          bucket: statement.bucket,
          ...(statement.asOf ? { asOf: statement.asOf } : {}),
          ...(statement.parameters ? { parameters: statement.parameters } : {}),
        };
        if (statement.parameterSchema.fields.length > 0 && !statement.parameters && withTicket) {
          throw new InvalidArgumentError(
            `the prepared query has ${statement.parameterSchema.fields.length} parameter(s); bind them with DoPut (CommandPreparedStatementQuery) first`,
          );
        }
        return { schema: statement.datasetSchema, ...(withTicket ? { ticket: statementTicket(plan)! } : {}) };
      }
      case 'CommandStatementSubstraitPlan':
        throw new UnimplementedError(`CommandStatementSubstraitPlan is not supported: ${REFUSED_ACTIONS.CreatePreparedSubstraitPlan!}`);
      case 'CommandStatementUpdate':
      case 'CommandPreparedStatementUpdate':
      case 'CommandStatementIngest':
        throw new InvalidArgumentError(`${command.kind} is sent with DoPut, not GetFlightInfo`);
      case 'TicketStatementQuery':
        throw new InvalidArgumentError('a TicketStatementQuery is a ticket for DoGet, not a descriptor');
      default: {
        const columns = metadataColumns(command);
        // A catalog command is its own ticket: DoGet rebuilds the table for the caller then.
        return { schema: schemaOf(columns), ...(withTicket ? { ticket: descriptor.cmd ?? new Uint8Array(0) } : {}) };
      }
    }
  }

  /** The table a catalog command answers, or undefined for commands that are not catalog commands. */
  private async metadataTable(command: FlightSqlCommand): Promise<Table | undefined> {
    switch (command.kind) {
      case 'CommandGetSqlInfo':
        return sqlInfoTable(this.sqlInfo, command.info);
      case 'CommandGetCatalogs':
        return catalogsTable();
      case 'CommandGetDbSchemas':
        return dbSchemasTable(this.engine, command.catalog, command.dbSchemaFilterPattern);
      case 'CommandGetTables':
        return tablesTable(this.engine, command);
      case 'CommandGetTableTypes':
        return tableTypesTable();
      case 'CommandGetPrimaryKeys':
        return primaryKeysTable();
      case 'CommandGetExportedKeys':
      case 'CommandGetImportedKeys':
      case 'CommandGetCrossReference':
        return foreignKeysTable();
      case 'CommandGetXdbcTypeInfo':
        return xdbcTypeInfoTable(command.dataType);
      default:
        return undefined;
    }
  }

  /** Bulk ingest: writes the stream as a frame, as DoPut does, with the put mode the table options ask for. */
  private async ingest(command: Extract<FlightSqlCommand, { kind: 'CommandStatementIngest' }>, call: ServerCall, limits: PutLimits): Promise<number> {
    if (command.transactionId) throw new UnimplementedError('bulk ingest in a transaction is not supported: every put commits on its own');
    if (command.temporary) throw new UnimplementedError('temporary tables are not supported: ingest into a frame of a bucket');
    if (command.catalog !== undefined && command.catalog !== '' && command.catalog !== HANGAR_CATALOG) {
      throw new InvalidArgumentError(`the catalog is '${HANGAR_CATALOG}' (or none), not '${command.catalog}'`);
    }
    const ref = frameRef(command.table, command.schema ?? bucketOf(call.metadata));
    const { ifNotExist, ifExists } = command;
    if (ifNotExist === TableNotExistOption.Unspecified || ifExists === TableExistsOption.Unspecified) {
      throw new InvalidArgumentError('CommandStatementIngest must say what to do when the table exists and when it does not (table_definition_options)');
    }
    const modes: Record<TableExistsOption, PutMode> = {
      [TableExistsOption.Unspecified]: 'error',
      [TableExistsOption.Fail]: 'error',
      [TableExistsOption.Append]: 'append',
      [TableExistsOption.Replace]: 'replace',
    };
    let expectedVersion: number | undefined;
    if (ifNotExist === TableNotExistOption.Fail) {
      if (ifExists === TableExistsOption.Fail) throw new InvalidArgumentError('an ingest that fails both when the table exists and when it does not can never succeed');
      // Must exist: the put commits only onto the version seen now (stat throws NOT_FOUND when absent).
      expectedVersion = (await this.engine.stat(ref)).version;
    }
    const summary = await this.engine.put(ref, modes[ifExists], ipcMessagesOf(call, () => undefined, limits), {
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
      signal: call.signal,
    });
    return summary.rowsWritten;
  }
}

/** The result columns of a catalog command. */
function metadataColumns(command: FlightSqlCommand): readonly ColumnSpec[] {
  switch (command.kind) {
    case 'CommandGetSqlInfo':
      return SQL_INFO_COLUMNS;
    case 'CommandGetCatalogs':
      return CATALOGS_COLUMNS;
    case 'CommandGetDbSchemas':
      return DB_SCHEMAS_COLUMNS;
    case 'CommandGetTables':
      return tablesColumns(command.includeSchema);
    case 'CommandGetTableTypes':
      return TABLE_TYPES_COLUMNS;
    case 'CommandGetPrimaryKeys':
      return PRIMARY_KEYS_COLUMNS;
    case 'CommandGetExportedKeys':
    case 'CommandGetImportedKeys':
    case 'CommandGetCrossReference':
      return FOREIGN_KEYS_COLUMNS;
    case 'CommandGetXdbcTypeInfo':
      return XDBC_TYPE_INFO_COLUMNS;
    default:
      throw new InvalidArgumentError(`${command.kind} has no result to describe`);
  }
}

/** The bucket a call's unqualified table names resolve in: its `bucket` header, else `default`. */
function bucketOf(metadata: CallMetadata): string {
  return resolveBucket(metadata.get(FLIGHT_SQL_HEADERS.bucket));
}

/**
 * A leading `/* as_of: INSTANT *\/` comment: time travel for one query, from plain SQL (DuckDB
 * ignores the comment). INSTANT is ISO-8601, as in the `as_of` header.
 */
const AS_OF_HINT = /^\s*\/\*\s*as_of\s*[:=]\s*([^*]*?)\s*\*\//iu;

/** What a query runs as: its text, the call's bucket, and the time of its `as_of` hint or header. */
function planOf(sql: string, metadata: CallMetadata): StatementPlan {
  if (sql.trim() === '') throw new InvalidArgumentError('the query is empty; send one SELECT statement');
  refuseWriteStatement(sql);
  const asOfText = AS_OF_HINT.exec(sql)?.[1] ?? metadata.get(FLIGHT_SQL_HEADERS.asOf);
  const { asOf } = parseVersionSelector(asOfText === undefined ? undefined : { as_of: asOfText });
  const bucket = bucketOf(metadata);
  if (metadata.get(FLIGHT_SQL_HEADERS.bucket) === undefined && !allows(currentPrincipal(), 'read', bucket)) {
    // The engine would refuse it too, but without saying how a Flight SQL client picks a bucket.
    throw new PermissionDeniedError(
      `this token may not read bucket '${bucket}', where unqualified table names resolve: send the call header ` +
        `"${FLIGHT_SQL_HEADERS.bucket}" naming one of its buckets (ADBC: adbc.flight.sql.rpc.call_header.bucket; JDBC: the bucket property)`,
    );
  }
  return { sql, bucket, ...(asOf ? { asOf } : {}) };
}

function queryContext(plan: StatementPlan): QueryContext {
  return {
    bucket: plan.bucket,
    ...(plan.asOf ? { asOf: plan.asOf } : {}),
    ...(plan.parameters ? { parameters: plan.parameters } : {}),
  };
}

async function writeMessages(call: ServerCall, messages: readonly IpcMessage[]): Promise<void> {
  for (const message of messages) await call.write(encodeFlightDataPieces({ dataHeader: message.header, dataBody: message.body }));
}
