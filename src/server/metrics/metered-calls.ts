/**
 * Feeds the metrics from the Flight side without the handlers knowing: each RPC handler is wrapped
 * to count and time its call and the bytes it moves, and the engine is wrapped to time SQL queries
 * until their results are sent.
 */
import type { HangarEngine } from '../../core/engine.js';
import type { IpcMessage } from '../../format/ipc-message.js';
import type { QueryStream } from '../../core/sql/sql-engine.js';
import type { CallHandler } from '../transport/grpc-server.js';
import type { ServerCall } from '../transport/server-call.js';
import type { HangarMetrics } from './hangar-metrics.js';

/** Wraps every handler so its calls are counted, timed and their message bytes added up. */
export function meterCalls(handlers: Readonly<Record<string, CallHandler>>, metrics: HangarMetrics): Record<string, CallHandler> {
  const metered: Record<string, CallHandler> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    metered[method] = async (call) => {
      const done = metrics.startRpc(method);
      try {
        await handler(meteredCall(call, metrics));
        done();
      } catch (error) {
        done(error);
        throw error;
      }
    };
  }
  return metered;
}

/** The call with its reads and writes counted (the same object, so its state stays shared). */
function meteredCall(call: ServerCall, metrics: HangarMetrics): ServerCall {
  return new Proxy(call, {
    get(target, property, receiver) {
      if (property === 'write') {
        return (message: Uint8Array | readonly Uint8Array[]) => {
          const parts = message instanceof Uint8Array ? [message] : message;
          metrics.countBytes('flight', 'out', parts.reduce((sum, part) => sum + part.byteLength, 0));
          return target.write(message);
        };
      }
      if (property === 'messages') {
        return async function* () {
          for await (const message of target.messages()) {
            metrics.countBytes('flight', 'in', message.byteLength);
            yield message;
          }
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The engine with its queries timed from start until their last message was taken (or they failed). */
export function meterQueries(engine: HangarEngine, metrics: HangarMetrics, api: 'flight' | 'http'): HangarEngine {
  return new Proxy(engine, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<HangarEngine['query']>): Promise<QueryStream> => {
        const started = process.hrtime.bigint();
        const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
        let stream: QueryStream;
        try {
          stream = await target.query(...args);
        } catch (error) {
          metrics.observeQuery(api, seconds(), true);
          throw error;
        }
        async function* messages(): AsyncGenerator<IpcMessage> {
          let failed = true;
          try {
            yield* stream.messages;
            failed = false;
          } finally {
            metrics.observeQuery(api, seconds(), failed);
          }
        }
        return { schema: stream.schema, messages: messages() };
      };
    },
  });
}
