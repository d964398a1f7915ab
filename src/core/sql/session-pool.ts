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
  /** Statements prepared on it, by search path and SQL text, with the view generation they were bound at. */
  readonly statements: Map<string, { readonly prepared: DuckDBPreparedStatement; readonly generation: number }>;
  /** The SQL texts among them, to find a session that prepared a query before. */
  readonly texts: Map<string, number>;
}

/** Idle sessions kept at most (beyond them, sessions are closed when their query ends). */
const MAX_IDLE_SESSIONS = 8;
/** Statements kept per session; the oldest goes first. */
const MAX_STATEMENTS = 32;

/** A pool of {@link SqlSession}s over one DuckDB instance. */
export class SessionPool {
  private readonly idle: SqlSession[] = [];

  constructor(private readonly instance: DuckDBInstance) {}

  /** An idle session, preferring one that prepared `sql` before; a new connection when none is idle. */
  async take(sql: string): Promise<SqlSession> {
    let index = this.idle.findIndex((session) => session.texts.has(sql));
    if (index < 0) index = this.idle.length - 1;
    if (index >= 0) return this.idle.splice(index, 1)[0]!;
    return { connection: await this.instance.connect(), searchPath: '', statements: new Map(), texts: new Map() };
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
   * reused when it was, prepared (and kept) otherwise.
   */
  async statement(session: SqlSession, sql: string, generation: number): Promise<DuckDBPreparedStatement> {
    const key = `${session.searchPath}\n${sql}`;
    const kept = session.statements.get(key);
    if (kept && kept.generation === generation) return kept.prepared;
    if (kept) forget(session, key);
    const prepared = await session.connection.prepare(sql);
    if (session.statements.size >= MAX_STATEMENTS) forget(session, session.statements.keys().next().value!);
    session.statements.set(key, { prepared, generation });
    session.texts.set(sql, (session.texts.get(sql) ?? 0) + 1);
    return prepared;
  }

  /** Closes every idle session. */
  close(): void {
    for (const session of this.idle.splice(0)) discard(session);
  }
}

function forget(session: SqlSession, key: string): void {
  const kept = session.statements.get(key);
  if (!kept) return;
  session.statements.delete(key);
  kept.prepared.destroySync();
  const sql = key.slice(key.indexOf('\n') + 1);
  const count = (session.texts.get(sql) ?? 1) - 1;
  if (count > 0) session.texts.set(sql, count);
  else session.texts.delete(sql);
}

function discard(session: SqlSession): void {
  for (const { prepared } of session.statements.values()) prepared.destroySync();
  session.statements.clear();
  session.texts.clear();
  session.connection.closeSync();
}
