// kill -9 of a real `hangar serve` while it commits puts, appends, replaces, deletes, restores,
// compactions and vacuums: after a restart no committed version is lost or changed, the current
// state is the last acknowledged one (or the one whose answer the kill cut off), and every kept
// version reads back exactly. HANGAR_CRASH_TRIALS sets the number of trials (CI: 4; the long run,
// `bash bench/crash_versions.sh`, runs 50).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Int32, Table, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const TRIALS = Number(process.env.HANGAR_CRASH_TRIALS ?? 4);
const SEED = Number(process.env.HANGAR_CRASH_SEED ?? 1);

async function startServer(data: string): Promise<{ child: ReturnType<typeof spawn>; location: string }> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--port', '0', '--data', data, '--keep-versions', '3', '--keep-for', '0', '--vacuum-grace', '0', '--vacuum-every', '0', '--compact-threshold', '0'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`hangar serve exited with ${code}`)));
  });
  return { child, location: line.replace('hangar listening on ', '') };
}

/** Deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ints = (values: number[]) => new Table({ x: vectorFromArray(values, new Int32()) });
const valuesOf = (table: Table) => [...(table.getChild('x') ?? [])].map(Number);

/** The state after each acknowledged operation: rows, or null when the frame was deleted. */
type State = number[] | null;

describe('crash safety of versions (kill -9 of a real server)', () => {
  it(`loses no committed version in ${TRIALS} trials`, { timeout: 60_000 + TRIALS * 15_000 }, async () => {
    const next = random(SEED);
    for (let trial = 0; trial < TRIALS; trial++) {
      const data = await mkdtemp(join(tmpdir(), 'hangar-crash-versions-'));
      try {
        let server = await startServer(data);
        let client = HangarClient.connect(server.location);
        const o = { bucket: 'crash' };
        let acknowledged: State = null;
        /** Versions acknowledged to the client, with their contents. */
        const versions = new Map<number, State>();
        let pending: State | undefined;
        let counter = 0;
        const killAfter = 150 + Math.floor(next() * 900);
        const killed = new Promise<void>((resolve) => setTimeout(() => {
          server.child.kill('SIGKILL');
          resolve();
        }, killAfter));
        let stop = false;
        void killed.then(() => (stop = true));
        const work = (async () => {
          while (!stop) {
            const roll = next();
            const rows = Array.from({ length: 1 + Math.floor(next() * 2000) }, () => (counter += 1));
            try {
              if (acknowledged === null) {
                pending = rows;
                const { version } = await client.put('f', ints(rows), { ...o, mode: 'replace' });
                versions.set(version, rows);
              } else if (roll < 0.4) {
                pending = [...acknowledged, ...rows];
                const { version } = await client.put('f', ints(rows), { ...o, mode: 'append' });
                versions.set(version, pending);
              } else if (roll < 0.55) {
                pending = rows;
                const { version } = await client.put('f', ints(rows), { ...o, mode: 'replace' });
                versions.set(version, rows);
              } else if (roll < 0.65) {
                pending = null;
                await client.delete('f', o);
                versions.set(Math.max(...versions.keys()) + 1, null);
              } else if (roll < 0.8) {
                pending = acknowledged;
                const report = await client.compact('f', o);
                if (report.compacted) versions.set(report.version, acknowledged);
              } else if (roll < 0.9) {
                pending = acknowledged;
                await client.vacuum({ bucket: 'crash' });
              } else {
                const candidates = [...versions].filter(([, state]) => state !== null);
                const [version, state] = candidates[Math.floor(next() * candidates.length)]!;
                pending = state;
                try {
                  const restored = await client.restore('f', version, o);
                  versions.set(restored, state);
                } catch (error) {
                  if (!/no longer kept/.test((error as Error).message)) throw error;
                  pending = acknowledged;
                }
              }
              acknowledged = pending;
              pending = undefined;
            } catch (error) {
              if (stop) return; // the kill cut this operation off
              throw error;
            }
          }
        })();
        await killed;
        await work;
        client.close();

        server = await startServer(data);
        client = HangarClient.connect(server.location);
        try {
          const kept = new Map((await client.versions('f', o).catch(() => [])).map((v) => [v.version, v]));
          const current = await client.get('f', o).then(valuesOf, () => null);
          const allowed: State[] = pending === undefined ? [acknowledged] : [acknowledged, pending];
          expect(allowed, `trial ${trial}: current state after the kill`).toContainEqual(current);
          // Every acknowledged version that is still kept reads back exactly.
          for (const [version, state] of versions) {
            if (!kept.has(version)) continue;
            if (state === null) expect(kept.get(version)!.deleted, `trial ${trial}, version ${version}`).toBe(true);
            else expect(valuesOf(await client.get('f', { ...o, version })), `trial ${trial}, version ${version}`).toEqual(state);
          }
          // Nothing acknowledged was lost beyond retention: the newest acknowledged version is kept.
          const newest = Math.max(0, ...versions.keys());
          if (newest > 0) expect(kept.has(newest), `trial ${trial}: version ${newest} kept`).toBe(true);
          // A vacuum after the restart succeeds and leaves the current state as it is.
          await client.vacuum({ bucket: 'crash' });
          expect(await client.get('f', o).then(valuesOf, () => null)).toEqual(current);
        } finally {
          client.close();
          server.child.kill('SIGKILL');
        }
      } finally {
        await rm(data, { recursive: true, force: true });
      }
    }
  });
});
