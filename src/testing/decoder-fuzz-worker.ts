/** Worker-thread entry of {@link fuzzDecoders}: runs the in-process fuzz and reports progress through shared memory. */
import { parentPort, workerData } from 'node:worker_threads';
import { FuzzFailure, runDecoderFuzz, type DecoderFuzzOptions } from './decoder-fuzz.js';

const { progress, ...options } = workerData as Omit<DecoderFuzzOptions, 'onCase'> & { progress: Int32Array };
try {
  const reports = runDecoderFuzz({
    ...options,
    onCase: (messageType, index) => {
      Atomics.store(progress, 0, options.messageTypes.indexOf(messageType));
      Atomics.store(progress, 1, index % 2 ** 31);
      Atomics.store(progress, 2, Math.floor(index / 2 ** 31));
    },
  });
  parentPort!.postMessage({ reports });
} catch (error) {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const failure = error instanceof FuzzFailure ? { messageType: error.fuzzCase.messageType, index: error.fuzzCase.index } : { messageType: options.messageTypes[0], index: -1 };
  parentPort!.postMessage({ failure: { ...failure, message } });
}
