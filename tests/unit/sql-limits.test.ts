// The SQL limits' defaults and parsing, the result budget and the per-caller query slots.
import { totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ResourceExhaustedError } from '../../src/errors.js';
import { QuerySlots } from '../../src/core/sql/query-slots.js';
import { ResultBudget } from '../../src/core/sql/result-budget.js';
import { defaultMemoryLimitBytes, formatBytes, machineMemoryBytes, maxGeneratedValueBytes, parseByteSize } from '../../src/core/sql/sql-limits.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('SQL limits', () => {
  it('reads sizes with decimal and binary units', () => {
    expect(parseByteSize('512MB')).toBe(512e6);
    expect(parseByteSize('4GB')).toBe(4e9);
    expect(parseByteSize('2GiB')).toBe(2 * GiB);
    expect(parseByteSize(' 1.5 MiB ')).toBe(1.5 * MiB);
    expect(parseByteSize('900 bytes')).toBe(900);
    for (const bad of ['', '12', 'GB', '4 parsecs', '-1GB']) expect(() => parseByteSize(bad)).toThrow(/a size is a number and a unit/);
  });

  it('sizes the default memory limit at half the machine, at least 256 MiB', () => {
    expect(defaultMemoryLimitBytes(16 * GiB)).toBe(8 * GiB);
    expect(defaultMemoryLimitBytes(300 * MiB)).toBe(256 * MiB);
    const machine = machineMemoryBytes();
    expect(machine).toBeGreaterThan(0);
    expect(machine).toBeLessThanOrEqual(totalmem());
    expect(defaultMemoryLimitBytes()).toBe(defaultMemoryLimitBytes(machine));
  });

  it('bounds generated values so a vector of 2048 of them fits the memory limit', () => {
    expect(maxGeneratedValueBytes(2 * GiB)).toBe(MiB);
    expect(maxGeneratedValueBytes(2048 * 100) * 2048).toBeLessThanOrEqual(2048 * 1024);
  });

  it('formats byte counts for messages', () => {
    expect(formatBytes(64 * MiB)).toBe('64 MiB');
    expect(formatBytes(1.5 * GiB)).toBe('1.5 GiB');
    expect(formatBytes(900)).toBe('900 bytes');
  });

  it('lets a result reach its limit and refuses the byte beyond it', () => {
    const budget = new ResultBudget(1000);
    budget.charge(600);
    budget.charge(400);
    expect(() => budget.charge(1)).toThrow(ResourceExhaustedError);
    expect(() => new ResultBudget(10).charge(11)).toThrow(/larger than the server's limit of 10 bytes per query \(--sql-max-result-bytes\)/);
  });

  it('gives each caller its own slots and takes them back once', () => {
    const slots = new QuerySlots(2);
    const first = slots.take('alice');
    slots.take('alice');
    expect(() => slots.take('alice')).toThrow(/caller 'alice' already runs 2 SQL queries.*--sql-max-concurrent-per-token 2/);
    const bobs = slots.take('bob');
    first();
    first();
    expect(slots.runningFor('alice')).toBe(1);
    slots.take('alice');
    bobs();
    expect(slots.runningFor('bob')).toBe(0);
  });
});
