/**
 * Counts the calls in progress, so a graceful shutdown waits for running calls only. grpc-js's
 * own tryShutdown also waits for idle client connections to close, which can take forever.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';

type AnyHandler = (call: EventEmitter & { cancelled?: boolean }, callback?: (...args: unknown[]) => void) => void;

/** Wraps service handlers to count the calls that have started and not yet finished. */
export class CallTracker {
  private active = 0;
  private readonly idle = new EventEmitter();

  /** Calls currently running. */
  get running(): number {
    return this.active;
  }

  /** Returns the implementation with every handler counted. */
  track(implementation: Record<string, AnyHandler>): UntypedServiceImplementation {
    const tracked: Record<string, AnyHandler> = {};
    for (const [name, handler] of Object.entries(implementation)) {
      tracked[name] = (call, callback) => {
        const done = this.begin();
        if (callback) {
          handler(call, (...args: unknown[]) => {
            done();
            callback(...args);
          });
          return;
        }
        for (const event of ['close', 'finish', 'cancelled']) call.once(event, done);
        handler(call);
      };
    }
    return tracked as UntypedServiceImplementation;
  }

  private begin(): () => void {
    this.active++;
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      this.active--;
      if (this.active === 0) this.idle.emit('idle');
    };
  }

  /** Resolves when no call is running. */
  whenIdle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.once('idle', resolve));
  }
}
