/**
 * DuckDB connections kept between queries, each with the search path it last set and the
 * statements it prepared. A query repeated on the same frames (a dashboard's, a client's polling)
 * then skips connecting, setting the search path and binding, about 3 ms of the ~5 ms a query
 * spends before it runs. A statement is reused only at the view generation it was prepared at
 * (see frame-views.ts), so it never reads a view that has since changed.
 */
import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from '@duckdb/node-api';

/** One pooled connection. Used by one query at a time. */
export interface SqlSession {
  readonly connection: DuckDBConnection;
  /** The search path last set on the connection ('' before any). */
  searchPath: string;
  /** Statements prepared on it, by SQL text, with the search path and view generation they were bound at. */
  readonly statements: Map<string, { readonly prepared: DuckDBPreparedStatement; readonly searchPath: string; readonly generation: number }>;
}

/** Idle sessions kept at most (beyond them, sessions are closed when their query ends). */
const MAX_IDLE_SESSIONS = 8;
/** Statements kept per session; the oldest goes first. */
const MAX_STATEMENTS = 32;

/** A pool of {@link SqlSession}s over one DuckDB instance. */
export class SessionPool {
  private readonly idle: SqlSession[] = [];

  /**
   * @param instance - the database connections are made on
   * @param prepareConnection - runs once on each new connection before it serves a query
   */
  constructor(
    private readonly instance: DuckDBInstance,
    private readonly prepareConnection: (connection: DuckDBConnection) => Promise<void> = async () => undefined,
  ) {}

  /** An idle session, preferring one that prepared `sql` before; a new connection when none is idle. */
  async take(sql: string): Promise<SqlSession> {
    let index = this.idle.findIndex((session) => session.statements.has(sql));
    if (index < 0) index = this.idle.length - 1;
    if (index >= 0) return this.idle.splice(index, 1)[0]!;
    const connection = await this.instance.connect();
    try {
      await this.prepareConnection(connection);
    } catch (error) {
      connection.closeSync();
      throw error;
    }
    return { connection, searchPath: '', statements: new Map() };
  }

  /** Takes back a session whose query ended cleanly (its result read to the end, or never started). */
  give(session: SqlSession): void {
    if (this.idle.length < MAX_IDLE_SESSIONS) this.idle.push(session);
    else discard(session);
  }

  /** Closes a session whose query failed or was interrupted. */
  discard(session: SqlSession): void {
    discard(session);
  }

  /**
   * The statement for `sql` on the session's current search path, prepared at `generation`:
   * reused when it was, prepared (and kept, in place of one bound elsewhere) otherwise.
   */
  async statement(session: SqlSession, sql: string, generation: number): Promise<DuckDBPreparedStatement> {
    const kept = session.statements.get(sql);
    if (kept && kept.searchPath === session.searchPath && kept.generation === generation) return kept.prepared;
    if (kept) forget(session, sql);
    // Statements bound at an older generation are never reused, and each keeps the Parquet files
    // its views read open: kept, they held vacuumed segments' disk space and file descriptors
    // (found by the soak, bench/soak: +2.5 open handles a minute). Drop them everywhere.
    for (const other of [session, ...this.idle]) forgetStale(other, generation);
    const prepared = await session.connection.prepare(sql);
    if (session.statements.size >= MAX_STATEMENTS) forget(session, session.statements.keys().next().value!);
    session.statements.set(sql, { prepared, searchPath: session.searchPath, generation });
    return prepared;
  }

  /** Closes every idle session. */
  close(): void {
    for (const session of this.idle.splice(0)) discard(session);
  }
}

/** Destroys a session's statements bound at another view generation than `generation`. */
function forgetStale(session: SqlSession, generation: number): void {
  for (const [sql, kept] of session.statements) if (kept.generation !== generation) forget(session, sql);
}

function forget(session: SqlSession, sql: string): void {
  session.statements.get(sql)?.prepared.destroySync();
  session.statements.delete(sql);
}

function discard(session: SqlSession): void {
  for (const { prepared } of session.statements.values()) prepared.destroySync();
  session.statements.clear();
  session.connection.closeSync();
}
