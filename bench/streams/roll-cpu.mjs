// bench/streams/roll-cpu: the CPU a stream's roll costs per entry, in process (no server, no client):
// pushes 8 MiB of 1 KB binary entries (appendBinary, batches of 100) to a stream on /dev/shm, then
// times stream.roll() (IPC layout, Parquet encode in the codec worker, segment write, commit) with
// process.cpuUsage (every thread, the codec worker's included). The first 2 rolls are warm-up.
// Prints the median µs of CPU per rolled entry and each roll's figure. A/B: run it for each build in
// turn, several times (the machine is shared):
//
//   for i in 1 2 3; do for d in /tmp/old/dist dist dist; do node bench/streams/roll-cpu.mjs $d 8; done; done
//
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resolve } from 'node:path';
const dist = resolve(process.argv[2] ?? 'dist'); const rolls = Number(process.argv[3] ?? 6);
const imp = (p) => import(join(dist, p));
const { LocalConnector } = await imp('connectors/local/local-connector.js');
const { ObjectLayout } = await imp('storage/object-layout.js');
const { HangarEngine } = await imp('core/engine.js');
const { ParquetCodec } = await imp('format/parquet/parquet-codec.js');
const { LocalStreamStorage } = await imp('core/streams/stream-storage.js');
const { StreamService } = await imp('core/streams/stream-service.js');
const root = await mkdtemp('/dev/shm/s2roll-');
const codec = new ParquetCodec(1);
const layout = new ObjectLayout(new LocalConnector({ root })); await layout.open();
const engine = new HangarEngine(layout, codec, {});
const service = new StreamService(engine, new LocalStreamStorage(join(root, 'wal')), { rollIntervalMs: 0, rollBytes: 1 << 30, memoryBytes: 1 << 20 });
await service.open();
const stream = await service.forPush({ bucket: 'b', name: 's' }, { entries: 'binary' });
const batch = Buffer.alloc(100 * 1024, 7); const offsets = Int32Array.from({ length: 101 }, (_, i) => i * 1024);
const per = 8192; const out = [];
for (let r = 0; r < rolls + 2; r++) {
  for (let i = 0; i < per / 100; i++) await stream.appendBinary(batch, offsets);
  const c0 = process.cpuUsage(); const t0 = performance.now();
  await stream.roll();
  const c = process.cpuUsage(c0); const wall = performance.now() - t0;
  if (r >= 2) out.push({ cpu: (c.user + c.system) / (per / 100 * 100), wall });
}
const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
console.log(JSON.stringify({ dist, cpuPerEntryUs: +med(out.map((o) => o.cpu)).toFixed(2), wallMs: +med(out.map((o) => o.wall)).toFixed(1), all: out.map((o) => +o.cpu.toFixed(2)) }));
await service.close(); await layout.close(); await codec.close?.(); await rm(root, { recursive: true, force: true });
process.exit(0);
