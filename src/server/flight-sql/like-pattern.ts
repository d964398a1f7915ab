/**
 * The filter patterns of Flight SQL's catalog commands: SQL LIKE, where `%` matches any run of
 * characters, `_` any one character, and `\` escapes either (SqlInfo SQL_SEARCH_STRING_ESCAPE).
 */

/** A predicate for names matching `pattern`; an absent pattern matches everything. */
export function likeMatcher(pattern: string | undefined): (name: string) => boolean {
  if (pattern === undefined) return () => true;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else source += escapeRegExp(c);
  }
  const regex = new RegExp(`^${source}$`, 'u');
  return (name) => regex.test(name);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
