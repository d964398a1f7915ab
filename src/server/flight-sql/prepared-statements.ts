/**
 * Flight SQL prepared statements: a handle per CreatePreparedStatement, holding the SQL, where it
 * runs, its schemas and the parameters last bound by DoPut, owned by the credential that created it.
 * Bounded in number and closed after an idle time, so clients that never close cannot exhaust memory.
 * (DuckDB's own prepared statement is cached by SQL text on each pooled connection: see
 * core/sql/session-pool.ts.)
 */
import { randomBytes } from 'node:crypto';
import type { Schema } from 'apache-arrow';
import { NotFoundError, PermissionDeniedError } from '../../errors.js';
import type { SqlParameter } from '../../core/sql/sql-parameters.js';

/** One prepared statement. */
export interface PreparedStatement {
  /** The SQL text. */
  readonly sql: string;
  /** The bucket of its unqualified tables. */
  readonly bucket: string;
  /** Time travel, if the creating call asked for it. */
  readonly asOf?: Date;
  /** The credential (hashed) that created it; only it may use it. */
  readonly owner: string;
  /** Its result's schema. */
  readonly datasetSchema: Schema;
  /** Its parameters' schema. */
  readonly parameterSchema: Schema;
  /** The values DoPut bound last. */
  parameters?: readonly SqlParameter[];
}

const DEFAULT_MAX_STATEMENTS = 10_000;
/** How long an unused prepared statement stays open (SqlInfo FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT). */
export const PREPARED_STATEMENT_IDLE_MS = 30 * 60_000;

/** The open prepared statements of a server. */
export class PreparedStatements {
  private readonly open = new Map<string, PreparedStatement & { lastUsed: number }>();

  /**
   * @param maxStatements - open statements kept; past it the least recently used is closed
   * @param idleMs - a statement unused this long is closed
   */
  constructor(
    private readonly maxStatements = DEFAULT_MAX_STATEMENTS,
    private readonly idleMs = PREPARED_STATEMENT_IDLE_MS,
  ) {}

  /** Registers a statement and returns its handle. */
  create(statement: PreparedStatement): Buffer {
    this.sweep();
    const handle = randomBytes(16);
    this.open.set(handle.toString('base64'), { ...statement, lastUsed: Date.now() });
    while (this.open.size > this.maxStatements) this.open.delete(this.open.keys().next().value!);
    return handle;
  }

  /**
   * The statement of a handle, for its owner; using it keeps it open.
   * @throws NotFoundError for an unknown or closed handle; PermissionDeniedError for another owner's
   */
  get(handle: Uint8Array, owner: string): PreparedStatement {
    this.sweep();
    const key = Buffer.from(handle).toString('base64');
    const statement = this.open.get(key);
    if (!statement) {
      throw new NotFoundError('no open prepared statement has this handle (it was closed, or idle too long); prepare the query again');
    }
    if (statement.owner !== owner) throw new PermissionDeniedError('this prepared statement belongs to another credential');
    // Most recently used last, so the oldest is first in line when the cap is reached.
    this.open.delete(key);
    statement.lastUsed = Date.now();
    this.open.set(key, statement);
    return statement;
  }

  /** Closes a statement; closing an unknown handle is not an error (the spec makes close idempotent). */
  close(handle: Uint8Array, owner: string): void {
    const key = Buffer.from(handle).toString('base64');
    const statement = this.open.get(key);
    if (statement && statement.owner !== owner) throw new PermissionDeniedError('this prepared statement belongs to another credential');
    this.open.delete(key);
  }

  /** How many statements are open. */
  get size(): number {
    return this.open.size;
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const [key, statement] of this.open) {
      if (statement.lastUsed >= cutoff) break;
      this.open.delete(key);
    }
  }
}
