import v8 from 'node:v8';
if (process.argv[2] === 'late') v8.setFlagsFromString('--initial-old-space-size=256');
if (process.argv[3] === 'late-gc') v8.setFlagsFromString('--single-threaded-gc');
import { PerformanceObserver, constants } from 'node:perf_hooks';
let major = 0, minor = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) { if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; else minor++; } }).observe({ entryTypes: ['gc'] });
const keep = [];
const t0 = performance.now();
for (let i = 0; i < 1500; i++) { const b = new ArrayBuffer(3 << 20); new Uint8Array(b)[0] = 1; keep.push(b); if (keep.length > 20) keep.shift(); const o = []; for (let j = 0; j < 200; j++) o.push({ j }); }
setTimeout(() => console.log(JSON.stringify({ mode: process.argv.slice(2).join(' ') || 'none', execArgv: process.execArgv, major, minor, ms: Math.round(performance.now() - t0), heapLimitMB: Math.round(v8.getHeapStatistics().heap_size_limit/2**20) })), 50);
