/**
 * The resource limits of SQL and their defaults: DuckDB's memory limit sized from the machine
 * (RAM, or the cgroup limit of a container when smaller), the largest result one query may send,
 * and how many queries one caller may run at once.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { InvalidArgumentError } from '../../errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Share of the machine's memory DuckDB may use by default, for all queries together. */
export const DEFAULT_MEMORY_SHARE = 0.5;
/** Smallest default memory limit, so a tiny container still runs ordinary queries. */
const MIN_DEFAULT_MEMORY_BYTES = 256 * MiB;
/** Default of the largest Arrow result one query may send (1 GiB). */
export const DEFAULT_MAX_RESULT_BYTES = GiB;
/** Default of the queries one caller (token subject, or all anonymous callers) may run at once. */
export const DEFAULT_MAX_CONCURRENT_PER_CALLER = 8;
/** DuckDB computes scalar functions 2048 rows at a time. */
const VECTOR_ROWS = 2048;

/** Files that may hold this process's cgroup memory limit (v2, then v1), relative to the mount. */
const CGROUP_LIMIT_FILES = [
  ['/sys/fs/cgroup', 'memory.max'],
  ['/sys/fs/cgroup/memory', 'memory.limit_in_bytes'],
] as const;

/**
 * The memory this process may use: the smaller of the machine's RAM and the cgroup limit (v2
 * `memory.max` or v1 `memory.limit_in_bytes`, at the mount root and at this process's own cgroup
 * path), when one is set.
 */
export function machineMemoryBytes(): number {
  let bytes = totalmem();
  for (const limit of cgroupLimits()) if (limit > 0 && limit < bytes) bytes = limit;
  return bytes;
}

/** Every cgroup memory limit readable for this process ("max" and unset limits are skipped). */
function cgroupLimits(): number[] {
  const paths = new Set<string>(['']);
  try {
    // Lines are `id:controllers:path`; v2 has id 0 and no controllers, v1 names `memory`.
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const [, controllers, path] = line.split(':');
      if (path && path !== '/' && (controllers === '' || controllers?.split(',').includes('memory'))) paths.add(path);
    }
  } catch {
    // Not Linux, or no procfs: RAM alone decides.
  }
  const limits: number[] = [];
  for (const [mount, file] of CGROUP_LIMIT_FILES) {
    for (const path of paths) {
      try {
        const text = readFileSync(`${mount}${path}/${file}`, 'utf8').trim();
        const value = Number(text);
        // "max" (v2) and v1's 2^63-ish "unlimited" are not limits.
        if (Number.isFinite(value) && value > 0 && value < 2 ** 60) limits.push(value);
      } catch {
        // No such controller or path here.
      }
    }
  }
  return limits;
}

/** The default DuckDB memory limit: {@link DEFAULT_MEMORY_SHARE} of {@link machineMemoryBytes}, at least 256 MiB. */
export function defaultMemoryLimitBytes(machineBytes = machineMemoryBytes()): number {
  return Math.max(MIN_DEFAULT_MEMORY_BYTES, Math.floor((machineBytes * DEFAULT_MEMORY_SHARE) / MiB) * MiB);
}

/**
 * The largest value SQL functions that build values from a size argument (`repeat`, `lpad`,
 * `range`, …) may make: DuckDB builds them 2048 rows at a time outside its memory accounting,
 * so a full vector of such values must fit in the memory limit.
 */
export function maxGeneratedValueBytes(memoryLimitBytes: number): number {
  return Math.max(1024, Math.floor(memoryLimitBytes / VECTOR_ROWS));
}

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  byte: 1,
  bytes: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: MiB,
  gib: GiB,
  tib: 1024 * GiB,
};

/**
 * Parses a size such as `512MB`, `4GB` or `2GiB` (KB/MB/GB/TB are powers of 1000, as DuckDB
 * reads them; KiB/MiB/GiB/TiB powers of 1024) into bytes.
 * @throws InvalidArgumentError for anything else
 */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text.trim());
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new InvalidArgumentError(`a size is a number and a unit, e.g. 512MB, 4GB or 2GiB (got ${JSON.stringify(text)})`);
  return Math.floor(Number(match[1]) * unit);
}

/** A byte count for messages: `1.5 GiB`, `512 MiB`, `900 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${+(bytes / GiB).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${+(bytes / MiB).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(2)} KiB`;
  return `${bytes} bytes`;
}
