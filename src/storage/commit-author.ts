/**
 * Who is committing: the authenticated caller of the operation running, carried through its
 * asynchronous calls down to the layout that writes the commit (the Delta log's `commitInfo`
 * records it as `userName`). Unset without authentication, and for commits no caller made.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const authors = new AsyncLocalStorage<string>();

/** Runs `work` with `author` as the committing user of every commit it makes. */
export function runAsCommitAuthor<T>(author: string, work: () => T): T {
  return authors.run(author, work);
}

/** The committing user of the operation running, if one was set. */
export function currentCommitAuthor(): string | undefined {
  return authors.getStore();
}
