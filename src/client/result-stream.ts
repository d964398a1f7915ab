/** A single-use async stream of decoded Flight results that can also be collected into an array. */
import type { ClientCall } from './transport/grpc-channel.js';

/**
 * The results of a streaming call (ListFlights, DoAction, ListActions). The call starts at once,
 * so an action runs even if its results are never read. Iterate it once, or call `toArray()`.
 */
export class FlightResultStream<T> implements AsyncIterable<T> {
  private used = false;

  private constructor(
    private readonly responses: ClientCall,
    private readonly decode: (raw: Buffer) => T,
  ) {}

  /** Wraps a call's raw responses with a decoder. */
  static map<T>(responses: ClientCall, decode: (raw: Buffer) => T): FlightResultStream<T> {
    return new FlightResultStream(responses, decode);
  }

  /** Yields each decoded result; leaving early cancels the call. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.used) throw new Error('a Flight result stream can be read only once');
    this.used = true;
    for await (const raw of this.responses) yield this.decode(raw);
  }

  /** Reads every result. */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) out.push(item);
    return out;
  }

  /** Cancels the call. */
  cancel(): void {
    this.responses.cancel();
  }
}
