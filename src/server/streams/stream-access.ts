/**
 * The streams as request handlers see them (Flight and WebSocket alike): every operation is
 * authorised against the call's principal first, with the rules of frames — a push needs `write`
 * on the bucket, a tail `read`.
 */
import type { Schema } from 'apache-arrow';
import { NotFoundError } from '../../errors.js';
import { type FrameRef, describeFrame } from '../../names.js';
import type { LiveStream, StreamRetention } from '../../core/streams/live-stream.js';
import type { StreamService } from '../../core/streams/stream-service.js';
import { currentPrincipal } from '../auth/call-guard.js';
import { authorize } from '../auth/scopes.js';

/** Authorised access to the live streams. */
export class StreamAccess {
  constructor(private readonly streams: StreamService) {}

  /** The stream a push goes to (created by the first push). Needs `write` on the bucket. */
  async forPush(ref: FrameRef, entries: Schema | 'binary', retention?: StreamRetention): Promise<LiveStream> {
    authorize(currentPrincipal(), 'write', [ref.bucket], 'push to streams');
    return this.streams.forPush(ref, { entries, ...(retention ? { retention } : {}) });
  }

  /**
   * The stream to tail. Needs `read` on the bucket.
   * @throws NotFoundError when the frame is not a stream
   */
  async forTail(ref: FrameRef): Promise<LiveStream> {
    authorize(currentPrincipal(), 'read', [ref.bucket], 'read streams');
    const stream = await this.streams.find(ref);
    if (!stream) throw new NotFoundError(`${describeFrame(ref)} is not a stream (no push has created it); push to it first`);
    return stream;
  }

  /**
   * The stream to tail, waiting for a first push to create it (PTG's blocking pull). Needs `read`
   * on the bucket. Undefined when `signal` aborts first.
   */
  async forTailWhenCreated(ref: FrameRef, signal: AbortSignal): Promise<LiveStream | undefined> {
    authorize(currentPrincipal(), 'read', [ref.bucket], 'read streams');
    return this.streams.whenCreated(ref, signal);
  }
}
