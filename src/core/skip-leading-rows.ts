/**
 * Leaves out a stream's first rows: for an incremental read whose first segment holds rows the
 * client already has (a compaction merged them with appended ones; see appended-since.ts). Whole
 * record batches before the cut are dropped unread; only the batch the cut falls in is decoded.
 */
import { type IpcMessage, inspectMessage, joinIpcStream } from '../format/ipc-message.js';
import { selectRows } from './row-selection.js';

/** The messages of `messages` without its first `skip` rows (schema and dictionaries all kept). */
export async function* skipLeadingRows(messages: AsyncIterable<IpcMessage>, skip: number): AsyncGenerator<IpcMessage> {
  let left = skip;
  let schema: IpcMessage | undefined;
  const dictionaries: IpcMessage[] = [];
  for await (const message of messages) {
    if (left === 0) {
      yield message;
      continue;
    }
    const info = inspectMessage(message);
    if (info.kind === 'schema') schema = message;
    else if (info.kind === 'dictionary') dictionaries.push(message);
    else if (info.kind === 'batch') {
      if (info.rows <= left) {
        left -= info.rows;
        continue;
      }
      if (!schema) throw new Error('an IPC stream sent a record batch before its schema');
      const selected = selectRows(joinIpcStream([schema, ...dictionaries, message]), { dropLastColumn: false, maxRows: Infinity, skipRows: left });
      left = 0;
      yield* selected.messages.filter((candidate) => inspectMessage(candidate).kind === 'batch');
      continue;
    }
    yield message;
  }
}
