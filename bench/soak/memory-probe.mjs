// Preloaded into a `hangar serve` under soak (`node --import bench/soak/memory-probe.mjs`): every
// HANGAR_MEMORY_PROBE_MS it appends one JSON line to HANGAR_MEMORY_PROBE_FILE with the thread's
// process.memoryUsage() (after a full collection when the process runs with --expose-gc), so the
// soak can tell the JavaScript heap and array buffers (per thread, codec workers included) from
// native memory (DuckDB, malloc) in the server's RSS.
import { appendFileSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';

const file = process.env.HANGAR_MEMORY_PROBE_FILE;
const every = Number(process.env.HANGAR_MEMORY_PROBE_MS ?? 60_000);
if (file) {
  const timer = setInterval(() => {
    if (typeof globalThis.gc === 'function') globalThis.gc();
    const usage = process.memoryUsage();
    const mib = (bytes) => Number((bytes / 1048576).toFixed(1));
    const line = { at: Date.now(), thread: isMainThread ? 'main' : threadId, rssMiB: mib(usage.rss), heapUsedMiB: mib(usage.heapUsed), heapTotalMiB: mib(usage.heapTotal), externalMiB: mib(usage.external), arrayBuffersMiB: mib(usage.arrayBuffers) };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  }, every);
  timer.unref();
}
