/** Walks the JSON tree DuckDB's `json_serialize_sql` returns for a statement. */

/** Calls `visit` on every object node of a serialised SQL tree, parents before children. */
export function forEachSqlNode(tree: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(tree)) {
    for (const item of tree) forEachSqlNode(item, visit);
    return;
  }
  if (tree === null || typeof tree !== 'object') return;
  const node = tree as Record<string, unknown>;
  visit(node);
  for (const value of Object.values(node)) forEachSqlNode(value, visit);
}
