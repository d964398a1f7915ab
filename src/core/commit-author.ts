/** The committing user of engine operations, for layers above the engine (see storage/commit-author.ts). */
export { currentCommitAuthor, runAsCommitAuthor } from '../storage/commit-author.js';
