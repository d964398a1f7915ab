/** The client entry point (`hangar/client`): a generic Flight client and Hangar's dataframe client. */
export {
  FlightClient,
  commandDescriptor,
  pathDescriptor,
  type FlightCallOptions,
  type FlightClientOptions,
  type FlightInfoResult,
  type TicketInput,
} from './flight-client.js';
export { FlightRecordBatchStream } from './record-batch-stream.js';
export { pushToStream, tailStream, type StreamPushOptions, type StreamTailOptions } from './stream-client.js';
export { FlightResultStream } from './result-stream.js';
export type { RecordBatchSource } from '../format/ipc-encoder.js';
export { FlightCallError, readErrorDetail, toClientError, type ServerErrorDetail } from './error-mapping.js';
export {
  HangarClient,
  defaultServerLocation,
  type BucketDeleteMode,
  type BucketOptions,
  type DeleteBucketOptions,
  type FieldDescription,
  type FrameListing,
  type FrameStat,
  type GetOptions,
  type ListOptions,
  type PutMode,
  type PutOptions,
  type PutSummary,
  type QueryOptions,
  type TimeBound,
  type VersionOptions,
  type FrameVersion,
  type VacuumResult,
  type PurgeResult,
  type CompactResult,
  type HangarClientOptions,
  type SnapshotListing,
} from './hangar-client.js';
export { FrameCache, type CacheEntry, type CacheOptions } from './frame-cache.js';
export { CacheMissError } from './cached-reads.js';
export {
  DescriptorType,
  type ActionType,
  type FlightDescriptor,
  type FlightEndpoint,
  type Location,
  type Ticket,
} from '../flight/flight-messages.js';
export {
  AlreadyExistsError,
  BucketNotEmptyError,
  CancelledError,
  ConflictError,
  DataLossError,
  DeadlineExceededError,
  FailedPreconditionError,
  HangarError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  StoreFullError,
  UnauthenticatedError,
  UnimplementedError,
  type HangarErrorCode,
} from '../errors.js';
