/**
 * Routes Flight SQL calls on Hangar's Flight port: a descriptor, ticket or DoPut descriptor that
 * holds a google.protobuf.Any of a Flight SQL message, or a Flight SQL action, goes to the
 * {@link FlightSqlService}; everything else goes on to Hangar's own handlers unchanged (their JSON
 * commands never parse as an Any: they start with `{`).
 */
import { decodeAction, decodeFlightDescriptor, decodeTicket, DescriptorType, encodeActionType } from '../../flight/flight-messages.js';
import { decodeFlightData } from '../../flight/flight-data.js';
import { InvalidArgumentError } from '../../errors.js';
import type { CallHandler } from '../transport/grpc-server.js';
import type { ServerCall } from '../transport/server-call.js';
import { type FlightSqlCommand, decodeAny, decodeFlightSqlCommand, isFlightSqlAny } from './flight-sql-messages.js';
import { FLIGHT_SQL_ACTIONS, type FlightSqlService } from './flight-sql-service.js';

/** The Flight SQL command a descriptor's or ticket's bytes hold, if they hold one. */
function flightSqlCommandOf(bytes: Uint8Array | undefined): FlightSqlCommand | undefined {
  const any = bytes ? decodeAny(bytes) : undefined;
  return isFlightSqlAny(any) ? decodeFlightSqlCommand(any) : undefined;
}

/**
 * A view of `call` whose request messages start again from `first` (already read by the router),
 * followed by what `rest` still yields; everything else is the call itself.
 */
function replayed(call: ServerCall, first: Buffer, rest: AsyncIterator<Buffer>): ServerCall {
  async function* messages(): AsyncGenerator<Buffer, void, undefined> {
    yield first;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  }
  const request = async (): Promise<Buffer> => {
    if (!(await rest.next()).done) throw new InvalidArgumentError('this call takes exactly one request message');
    return first;
  };
  return new Proxy(call, {
    get(target, property) {
      if (property === 'messages') return messages;
      if (property === 'request') return request;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const NOTHING_MORE: AsyncIterator<Buffer> = { next: async () => ({ done: true, value: undefined }) };

/**
 * Wraps Hangar's Flight handlers so Flight SQL calls reach `service`: GetFlightInfo, GetSchema,
 * DoGet, DoPut, DoAction and ListActions (which lists the Flight SQL actions after Hangar's).
 */
export function routeFlightSql(handlers: Readonly<Record<string, CallHandler>>, service: FlightSqlService): Record<string, CallHandler> {
  const next = (name: string): CallHandler => {
    const handler = handlers[name];
    if (!handler) throw new Error(`internal error: no ${name} handler to route around`);
    return handler;
  };
  const getFlightInfo = next('GetFlightInfo');
  const getSchema = next('GetSchema');
  const doGet = next('DoGet');
  const doPut = next('DoPut');
  const doAction = next('DoAction');
  const listActions = next('ListActions');
  return {
    ...handlers,
    GetFlightInfo: async (call) => {
      const request = await call.request();
      const descriptor = decodeFlightDescriptor(request);
      const command = descriptor.type === DescriptorType.Cmd ? flightSqlCommandOf(descriptor.cmd) : undefined;
      if (!command) return getFlightInfo(replayed(call, request, NOTHING_MORE));
      await call.write(await service.getFlightInfo(command, descriptor, call));
    },
    GetSchema: async (call) => {
      const request = await call.request();
      const descriptor = decodeFlightDescriptor(request);
      const command = descriptor.type === DescriptorType.Cmd ? flightSqlCommandOf(descriptor.cmd) : undefined;
      if (!command) return getSchema(replayed(call, request, NOTHING_MORE));
      await call.write(await service.getSchema(command, descriptor, call));
    },
    DoGet: async (call) => {
      const request = await call.request();
      const command = flightSqlCommandOf(decodeTicket(request).ticket);
      if (!command) return doGet(replayed(call, request, NOTHING_MORE));
      await service.doGet(command, call);
    },
    DoPut: async (call) => {
      const incoming = call.messages();
      const first = await incoming.next();
      // No message at all: Hangar's DoPut reports it (the call has nothing left to read).
      if (first.done) return doPut(call);
      const descriptor = decodeFlightData(first.value).flightDescriptor;
      const command = descriptor?.type === DescriptorType.Cmd ? flightSqlCommandOf(descriptor.cmd) : undefined;
      const whole = replayed(call, first.value, incoming);
      if (!command) return doPut(whole);
      await service.doPut(command, whole);
    },
    DoAction: async (call) => {
      const request = await call.request();
      const action = decodeAction(request);
      if (!(await service.doAction(action.type, action.body, call))) await doAction(replayed(call, request, NOTHING_MORE));
    },
    ListActions: async (call) => {
      await listActions(call);
      for (const action of FLIGHT_SQL_ACTIONS) await call.write(encodeActionType(action));
    },
  };
}
