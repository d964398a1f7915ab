/**
 * Options of the S3 connector and how they are read from an `s3://bucket/prefix?…` location.
 * Every option is documented in docs/connectors.md.
 */
import { InvalidArgumentError } from '../../errors.js';
import { DEFAULT_RANGE_COALESCE_BYTES } from '../../storage/object-layout.js';

/** How the connector uses S3 conditional writes for its manifest compare-and-swap. */
export type ConditionalWritesMode = 'auto' | 'on' | 'off';

/** Options of the S3 connector. Only `bucket` is required; the rest come from the AWS chain or defaults. */
export interface S3ConnectorOptions {
  /** The S3 bucket holding the store (it must exist). */
  readonly bucket: string;
  /** Key prefix of the store inside the bucket, e.g. `hangar/prod` (default: the bucket's root). */
  readonly prefix?: string;
  /** Endpoint URL of an S3-compatible server (default: `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, else AWS). */
  readonly endpoint?: string;
  /** Region (default: `AWS_REGION`/`AWS_DEFAULT_REGION`, then the profile; `us-east-1` with a custom endpoint). */
  readonly region?: string;
  /** Path-style addressing (`endpoint/bucket/key`); default true with a custom endpoint, else false. */
  readonly forcePathStyle?: boolean;
  /** Explicit credentials; without them the standard AWS chain (environment, profile, SSO, IMDS …) is used. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Attempts per request, the first included, for throttling and transient errors (default 5). */
  readonly maxAttempts?: number;
  /** The SDK's retry strategy: `standard` (exponential backoff with jitter) or `adaptive` (also rate-limits the client; default). */
  readonly retryMode?: 'standard' | 'adaptive';
  /** Milliseconds to wait for a TCP connection before the attempt fails (default 5000). */
  readonly connectionTimeoutMs?: number;
  /** Segments larger than this many bytes are sent as multipart uploads (default 16 MiB). */
  readonly multipartThreshold?: number;
  /** Part size of multipart uploads in bytes; at least 5 MiB, as S3 requires (default 8 MiB). */
  readonly partSize?: number;
  /** Parts of one multipart upload sent at once (default 4); memory stays within the segment being sent. */
  readonly uploadConcurrency?: number;
  /**
   * `on`: commit manifests with `If-None-Match: *` and fail at open if the store ignores it; `off`: never
   * (commits are then atomic only within one process); `auto` (default): probe the store at open.
   */
  readonly conditionalWrites?: ConditionalWritesMode;
  /** Requests in flight at once when listing or reading many manifests (default 32). */
  readonly listConcurrency?: number;
  /**
   * Ranged reads (a projection fetching only its column chunks) merge byte ranges at most this
   * many bytes apart into one GET: a request costs more than reading a gap (default 128 KiB, see
   * DEFAULT_RANGE_COALESCE_BYTES in storage/object-layout.ts).
   */
  readonly rangeCoalesceBytes?: number;
  /** Ranged GETs of one segment in flight at once (default 8). */
  readonly rangeConcurrency?: number;
}

/** Options with every default applied; each member means what it does in {@link S3ConnectorOptions}. */
export interface ResolvedS3Options {
  /** The S3 bucket. */
  readonly bucket: string;
  /** Normalised key prefix: empty, or ending in `/`. */
  readonly root: string;
  /** Custom endpoint, or undefined for AWS. */
  readonly endpoint: string | undefined;
  /** Region, or undefined to let the SDK's chain (profile) decide. */
  readonly region: string | undefined;
  /** Path-style addressing. */
  readonly forcePathStyle: boolean;
  /** Explicit credentials, or undefined for the AWS chain. */
  readonly credentials: S3ConnectorOptions['credentials'];
  /** Attempts per request. */
  readonly maxAttempts: number;
  /** The SDK's retry strategy. */
  readonly retryMode: 'standard' | 'adaptive';
  /** TCP connection timeout in milliseconds. */
  readonly connectionTimeoutMs: number;
  /** Segments above this many bytes use multipart uploads (never below `partSize`). */
  readonly multipartThreshold: number;
  /** Multipart part size in bytes. */
  readonly partSize: number;
  /** Parts in flight per upload. */
  readonly uploadConcurrency: number;
  /** Use of conditional writes. */
  readonly conditionalWrites: ConditionalWritesMode;
  /** Manifest reads in flight when listing. */
  readonly listConcurrency: number;
  /** Ranges at most this far apart are fetched by one GET. */
  readonly rangeCoalesceBytes: number;
  /** Ranged GETs in flight per segment. */
  readonly rangeConcurrency: number;
}

const MIB = 1024 * 1024;
/** The smallest part S3 accepts (every part but the last). */
export const MIN_PART_SIZE = 5 * MIB;

function positiveInteger(name: string, value: number | undefined, fallback: number, minimum = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidArgumentError(`S3 option ${name} must be an integer ≥ ${minimum}, got ${value}`);
  }
  return value;
}

/** Applies defaults and the AWS environment to options, checking them. */
export function resolveS3Options(options: S3ConnectorOptions, env: NodeJS.ProcessEnv = process.env): ResolvedS3Options {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
    throw new InvalidArgumentError(`invalid S3 bucket name ${JSON.stringify(options.bucket)}`);
  }
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.')) {
    throw new InvalidArgumentError(`invalid S3 prefix ${JSON.stringify(options.prefix)}`);
  }
  const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined);
  const retryMode = options.retryMode ?? 'adaptive';
  if (retryMode !== 'standard' && retryMode !== 'adaptive') {
    throw new InvalidArgumentError(`S3 option retryMode must be 'standard' or 'adaptive', got ${JSON.stringify(retryMode)}`);
  }
  const conditionalWrites = options.conditionalWrites ?? 'auto';
  if (!['auto', 'on', 'off'].includes(conditionalWrites)) {
    throw new InvalidArgumentError(`S3 option conditionalWrites must be auto, on or off, got ${JSON.stringify(conditionalWrites)}`);
  }
  const partSize = positiveInteger('partSize', options.partSize, 8 * MIB, MIN_PART_SIZE);
  return {
    bucket: options.bucket,
    root: prefix === '' ? '' : `${prefix}/`,
    endpoint,
    region,
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    credentials: options.credentials,
    maxAttempts: positiveInteger('maxAttempts', options.maxAttempts, 5),
    retryMode,
    connectionTimeoutMs: positiveInteger('connectionTimeoutMs', options.connectionTimeoutMs, 5000),
    multipartThreshold: Math.max(partSize, positiveInteger('multipartThreshold', options.multipartThreshold, 16 * MIB)),
    partSize,
    uploadConcurrency: positiveInteger('uploadConcurrency', options.uploadConcurrency, 4),
    conditionalWrites,
    listConcurrency: positiveInteger('listConcurrency', options.listConcurrency, 32),
    rangeCoalesceBytes: positiveInteger('rangeCoalesceBytes', options.rangeCoalesceBytes, DEFAULT_RANGE_COALESCE_BYTES, 0),
    rangeConcurrency: positiveInteger('rangeConcurrency', options.rangeConcurrency, 8),
  };
}

function booleanParameter(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new InvalidArgumentError(`S3 location parameter ${name} must be true or false, got ${JSON.stringify(value)}`);
}

function integerParameter(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new InvalidArgumentError(`S3 location parameter ${name} must be an integer, got ${JSON.stringify(value)}`);
  return parsed;
}

/**
 * Reads options from `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true&…`. Query
 * parameters carry the option of the same name (credentials never: use the AWS chain for those).
 * @throws InvalidArgumentError for an unknown parameter or a bad value
 */
export function s3OptionsFromUrl(url: URL): S3ConnectorOptions {
  if (url.username || url.password) {
    throw new InvalidArgumentError('credentials do not belong in the S3 location; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile');
  }
  const options: { -readonly [K in keyof S3ConnectorOptions]: S3ConnectorOptions[K] } = {
    bucket: url.hostname,
    prefix: decodeURIComponent(url.pathname),
  };
  for (const [name, value] of url.searchParams) {
    switch (name) {
      case 'endpoint': options.endpoint = value; break;
      case 'region': options.region = value; break;
      case 'forcePathStyle': options.forcePathStyle = booleanParameter(name, value); break;
      case 'maxAttempts': options.maxAttempts = integerParameter(name, value); break;
      case 'retryMode': options.retryMode = value as 'standard' | 'adaptive'; break;
      case 'connectionTimeoutMs': options.connectionTimeoutMs = integerParameter(name, value); break;
      case 'multipartThreshold': options.multipartThreshold = integerParameter(name, value); break;
      case 'partSize': options.partSize = integerParameter(name, value); break;
      case 'uploadConcurrency': options.uploadConcurrency = integerParameter(name, value); break;
      case 'conditionalWrites': options.conditionalWrites = value as ConditionalWritesMode; break;
      case 'listConcurrency': options.listConcurrency = integerParameter(name, value); break;
      case 'rangeCoalesceBytes': options.rangeCoalesceBytes = integerParameter(name, value); break;
      case 'rangeConcurrency': options.rangeConcurrency = integerParameter(name, value); break;
      default:
        throw new InvalidArgumentError(`unknown S3 location parameter '${name}'; see docs/connectors.md`);
    }
  }
  return options;
}
