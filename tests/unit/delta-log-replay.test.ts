/** Replaying other engines' Delta logs (src/format/delta-log-replay.ts): removes honoured, unsupported features refused. */
import { describe, expect, it } from 'vitest';
import { FailedPreconditionError } from '../../src/errors.js';
import { applyDeltaCommitFile, deltaSnapshotOf, newDeltaReplay } from '../../src/format/delta-log-replay.js';

const lines = (...actions: object[]): string => `${actions.map((action) => JSON.stringify(action)).join('\n')}\n`;
const schemaString = JSON.stringify({ type: 'struct', fields: [{ name: 'x', type: 'long', nullable: true, metadata: {} }] });
const metaData = (configuration: Record<string, string> = {}, partitionColumns: string[] = []) => ({
  metaData: { id: 'id', format: { provider: 'parquet', options: {} }, schemaString, partitionColumns, configuration, createdTime: 1 },
});
const add = (path: string, numRecords?: number) => ({ add: { path, size: 10, partitionValues: {}, modificationTime: 1, dataChange: true, ...(numRecords ? { stats: JSON.stringify({ numRecords }) } : {}) } });

describe('replaying a Delta log', () => {
  it('keeps the files live at each version: adds, removes, re-adds, URI-decoded paths', () => {
    const state = newDeltaReplay();
    applyDeltaCommitFile(state, lines({ commitInfo: { timestamp: 5 } }, { protocol: { minReaderVersion: 1, minWriterVersion: 2 } }, metaData(), add('a%20b.parquet', 3), add('c.parquet')), 0, 't');
    expect(deltaSnapshotOf(state, 't')).toEqual({ version: 0, timestamp: 5, schemaString, files: [{ path: 'a b.parquet', size: 10, numRecords: 3 }, { path: 'c.parquet', size: 10 }] });
    applyDeltaCommitFile(state, lines({ remove: { path: 'a%20b.parquet', deletionTimestamp: 2, dataChange: true } }, add('d.parquet')), 1, 't');
    expect(deltaSnapshotOf(state, 't').files.map((file) => file.path)).toEqual(['c.parquet', 'd.parquet']);
  });

  it.each([
    ['deletion vectors', { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'] } }, /deletionVectors/],
    ['column mapping (reader 2)', { protocol: { minReaderVersion: 2, minWriterVersion: 5 } }, /column mapping/],
    ['a reader protocol above 3', { protocol: { minReaderVersion: 4, minWriterVersion: 7 } }, /reader protocol 4/],
    ['column mapping in the configuration', metaData({ 'delta.columnMapping.mode': 'name' }), /column mapping \(mode name\)/],
    ['partitions', metaData({}, ['day']), /partitioned by day/],
  ])('refuses %s, naming the table and why', (_, action, message) => {
    const replay = () => applyDeltaCommitFile(newDeltaReplay(), lines(action), 0, 'events');
    expect(replay).toThrow(FailedPreconditionError);
    expect(replay).toThrow(message);
    expect(replay).toThrow(/'events'/);
  });

  it('serves timestampNtz tables', () => {
    const state = newDeltaReplay();
    applyDeltaCommitFile(state, lines({ protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['timestampNtz'] } }, metaData(), add('a.parquet')), 0, 't');
    expect(deltaSnapshotOf(state, 't').files).toHaveLength(1);
  });
});
