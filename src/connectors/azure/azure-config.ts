/**
 * Options of the Azure Blob connector, where its credentials come from, and how they are read from
 * an `azure://container/prefix?…` location. Every option is documented in docs/connectors.md.
 */
import { InvalidArgumentError, PermissionDeniedError } from '../../errors.js';

/** Options of the Azure Blob connector. Only `container` is required; credentials may come from the environment. */
export interface AzureConnectorOptions {
  /** The blob container holding the store (it must exist). */
  readonly container: string;
  /** Blob name prefix of the store inside the container, e.g. `hangar/prod` (default: the container's root). */
  readonly prefix?: string;
  /** Blob service URL, e.g. `http://127.0.0.1:10000/devstoreaccount1` (default: `https://ACCOUNT.blob.core.windows.net`). */
  readonly endpoint?: string;
  /** Storage account name (default: `AZURE_STORAGE_ACCOUNT`). */
  readonly account?: string;
  /** Shared key of the account (default: `AZURE_STORAGE_KEY`). */
  readonly accountKey?: string;
  /** A SAS token with read, write, delete and list rights on the container (default: `AZURE_STORAGE_SAS_TOKEN`). */
  readonly sas?: string;
  /** A connection string, which names the endpoint and credentials (default: `AZURE_STORAGE_CONNECTION_STRING`). */
  readonly connectionString?: string;
  /** Attempts per request, the first included, for throttling, 5xx and network errors (default 4). */
  readonly maxAttempts?: number;
}

/** How the connector authenticates. */
export type AzureCredentials =
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  | { readonly kind: 'shared-key'; readonly account: string; readonly accountKey: string; readonly endpoint: string }
  | { readonly kind: 'sas'; readonly sas: string; readonly endpoint: string };

/** Options with defaults and the environment applied. */
export interface ResolvedAzureOptions {
  /** The blob container. */
  readonly container: string;
  /** Normalised blob name prefix: empty, or ending in `/`. */
  readonly root: string;
  /** Where the connector connects and how it proves who it is. */
  readonly credentials: AzureCredentials;
  /** Attempts per request. */
  readonly maxAttempts: number;
}

const CREDENTIALS_HELP =
  'set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN (docs/connectors.md)';

/**
 * Checks options and applies the environment. A connection string (option, else environment) wins
 * unless the options name an endpoint or account; then the account's key, else a SAS token, is used.
 * @throws InvalidArgumentError for a bad container, prefix or number; PermissionDeniedError when no credentials are found
 */
export function resolveAzureOptions(options: AzureConnectorOptions, env: NodeJS.ProcessEnv = process.env): ResolvedAzureOptions {
  if (!/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(options.container)) {
    throw new InvalidArgumentError(`invalid Azure container name ${JSON.stringify(options.container)}: 3-63 lowercase letters, digits and single hyphens`);
  }
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.')) {
    throw new InvalidArgumentError(`invalid Azure blob prefix ${JSON.stringify(options.prefix)}`);
  }
  const maxAttempts = options.maxAttempts ?? 4;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new InvalidArgumentError(`Azure option maxAttempts must be an integer ≥ 1, got ${maxAttempts}`);
  return { container: options.container, root: prefix === '' ? '' : `${prefix}/`, credentials: resolveCredentials(options, env), maxAttempts };
}

function resolveCredentials(options: AzureConnectorOptions, env: NodeJS.ProcessEnv): AzureCredentials {
  const connectionString = options.connectionString ?? (options.endpoint || options.account ? undefined : env.AZURE_STORAGE_CONNECTION_STRING);
  if (connectionString) return { kind: 'connection-string', connectionString };
  const account = options.account ?? env.AZURE_STORAGE_ACCOUNT;
  const endpoint = (options.endpoint ?? (account ? `https://${account}.blob.core.windows.net` : '')).replace(/\/+$/, '');
  const accountKey = options.accountKey ?? env.AZURE_STORAGE_KEY;
  if (account && accountKey) return { kind: 'shared-key', account, accountKey, endpoint };
  const sas = options.sas ?? env.AZURE_STORAGE_SAS_TOKEN;
  if (endpoint && sas) return { kind: 'sas', sas: sas.replace(/^\?/, ''), endpoint };
  throw new PermissionDeniedError(`[azure] no credentials for container '${options.container}': ${CREDENTIALS_HELP}`, { type: 'StorageError' });
}

/**
 * Reads options from `azure://container/prefix?endpoint=…&account=…&sas=…&maxAttempts=…`. An
 * account key or connection string never goes in the URL (refused): use the environment.
 * @throws InvalidArgumentError for an unknown parameter, a secret in the URL or a bad value
 */
export function azureOptionsFromUrl(url: URL): AzureConnectorOptions {
  if (url.username || url.password) throw new InvalidArgumentError(`credentials do not belong in the Azure location; ${CREDENTIALS_HELP}`);
  const options: { -readonly [K in keyof AzureConnectorOptions]: AzureConnectorOptions[K] } = {
    container: url.hostname,
    prefix: decodeURIComponent(url.pathname),
  };
  for (const [name, value] of url.searchParams) {
    if (name === 'endpoint' || name === 'account' || name === 'sas') options[name] = value;
    else if (name === 'maxAttempts') options.maxAttempts = Number(value);
    else if (name === 'accountKey' || name === 'connectionString') {
      throw new InvalidArgumentError('secrets do not belong in the Azure location (it shows in process lists and logs); ' + CREDENTIALS_HELP);
    } else throw new InvalidArgumentError(`unknown Azure location parameter '${name}'; see docs/connectors.md`);
  }
  return options;
}
