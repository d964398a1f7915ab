/**
 * The writer lease of a store whose `put` with `ifAbsent` is atomic only within one process: a
 * small object naming the server that writes the store, renewed while it runs, so a second server
 * refuses to start instead of racing the first one's commits.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { FailedPreconditionError } from '../errors.js';
import type { Connector } from './connector.js';

/** The lease's key (`~` keeps it apart from every bucket). */
export const WRITER_LEASE_KEY = '~writer';
/** A lease not renewed for this long belongs to a server that is gone. */
export const LEASE_TTL_MS = 60_000;
const RENEW_EVERY_MS = LEASE_TTL_MS / 3;

/** What the lease object holds. */
interface LeaseRecord {
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly renewedAt: number;
}

/** A held lease; {@link release} it on close. */
export class WriterLease {
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly connector: Connector,
    private readonly owner: string,
  ) {
    this.timer = setInterval(() => void this.write().catch(() => undefined), RENEW_EVERY_MS);
    this.timer.unref();
  }

  /**
   * Takes the lease, unless another server renewed it within {@link LEASE_TTL_MS}. Best effort: two
   * servers started in the same instant can both succeed (the store has no atomic write to decide),
   * which is why such a store must never be shared by two servers knowingly.
   * @throws FailedPreconditionError while another live server holds the lease
   */
  static async acquire(connector: Connector, now = Date.now()): Promise<WriterLease> {
    const held = await readLease(connector);
    if (held && now - held.renewedAt < LEASE_TTL_MS) {
      throw new FailedPreconditionError(
        `the ${connector.name} store is being written by another Hangar server (host ${held.host}, pid ${held.pid}), and it cannot ` +
          `tell two writers apart safely (no atomic if-absent writes); stop that server first, or wait ` +
          `${Math.ceil((LEASE_TTL_MS - (now - held.renewedAt)) / 1000)} s if it has already stopped`,
      );
    }
    const lease = new WriterLease(connector, randomUUID());
    await lease.write();
    return lease;
  }

  private async write(): Promise<void> {
    const record: LeaseRecord = { owner: this.owner, host: hostname(), pid: process.pid, renewedAt: Date.now() };
    await this.connector.put(WRITER_LEASE_KEY, Buffer.from(JSON.stringify(record)));
  }

  /** Stops renewing and removes the lease if it is still this server's. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    const held = await readLease(this.connector).catch(() => undefined);
    if (held?.owner === this.owner) await this.connector.delete([WRITER_LEASE_KEY]).catch(() => undefined);
  }
}

async function readLease(connector: Connector): Promise<LeaseRecord | undefined> {
  const bytes = await connector.get(WRITER_LEASE_KEY);
  if (!bytes) return undefined;
  try {
    const record = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<LeaseRecord>;
    if (typeof record.owner === 'string' && typeof record.renewedAt === 'number') return record as LeaseRecord;
  } catch {
    // A damaged lease protects nothing: treat it as absent.
  }
  return undefined;
}
