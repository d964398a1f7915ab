/**
 * The statement handles of Flight SQL tickets (TicketStatementQuery): what a DoGet runs (SQL, bucket,
 * time travel, bound parameters), signed by the server and bound to the credential of the caller
 * that asked for it, so a ticket handed to anyone else is refused.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PermissionDeniedError, InvalidArgumentError } from '../../errors.js';
import type { CallMetadata } from '../../grpc/metadata.js';
import { type SqlParameterValue, decodeParameterValues, encodeParameterValues } from './parameter-values.js';

/** What a statement ticket runs. */
export interface StatementPlan {
  /** The SQL text. */
  readonly sql: string;
  /** The bucket whose frames are the query's unqualified tables. */
  readonly bucket: string;
  /** Time travel: every frame as it was at this instant. */
  readonly asOf?: Date;
  /** Values of the statement's parameters, in order. */
  readonly parameters?: readonly SqlParameterValue[];
}

const MAC_BYTES = 32;
/** How long a ticket stays redeemable after GetFlightInfo issued it. */
const DEFAULT_TICKET_TTL_MS = 60 * 60_000;

/**
 * The credential a call carries, hashed: the `authorization` header, else `auth-token-bin`, else
 * nothing (authentication off). Tickets are bound to it.
 */
export function credentialOf(metadata: CallMetadata): string {
  const authorization = metadata.get('authorization') ?? '';
  const legacy = metadata.getBinary('auth-token-bin');
  const credential = authorization !== '' ? `authorization:${authorization}` : legacy !== undefined ? `token:${legacy.toString('utf8')}` : '';
  return createHash('sha256').update(credential).digest('base64url');
}

/** Issues and redeems signed statement handles. One per server. */
export class StatementTickets {
  private readonly key = randomBytes(32);

  /** @param ttlMs - how long an issued handle may be redeemed */
  constructor(private readonly ttlMs = DEFAULT_TICKET_TTL_MS) {}

  /** A handle that runs `plan` for the caller whose credential is `owner` (see {@link credentialOf}). */
  issue(plan: StatementPlan, owner: string): Buffer {
    const payload = Buffer.from(
      JSON.stringify({
        sql: plan.sql,
        bucket: plan.bucket,
        ...(plan.asOf ? { as_of: plan.asOf.toISOString() } : {}),
        ...(plan.parameters && plan.parameters.length > 0 ? { parameters: encodeParameterValues(plan.parameters) } : {}),
        owner,
        expires: Date.now() + this.ttlMs,
      }),
      'utf8',
    );
    return Buffer.concat([this.mac(payload), payload]);
  }

  /**
   * The plan of a handle this server issued to the caller whose credential is `owner`.
   * @throws InvalidArgumentError for a handle this server did not issue (or that was altered);
   *   PermissionDeniedError for one issued to another credential, or expired
   */
  redeem(handle: Uint8Array, owner: string): StatementPlan {
    const bytes = Buffer.from(handle.buffer, handle.byteOffset, handle.byteLength);
    const payload = bytes.subarray(MAC_BYTES);
    if (bytes.byteLength <= MAC_BYTES || !timingSafeEqual(bytes.subarray(0, MAC_BYTES), this.mac(payload))) {
      throw new InvalidArgumentError('this statement ticket was not issued by this server (or was altered); call GetFlightInfo again for a new one');
    }
    const body = JSON.parse(payload.toString('utf8')) as {
      sql: string;
      bucket: string;
      as_of?: string;
      parameters?: unknown;
      owner: string;
      expires: number;
    };
    if (body.owner !== owner) {
      throw new PermissionDeniedError('this statement ticket was issued to another credential; run the query with your own token');
    }
    if (Date.now() > body.expires) {
      throw new PermissionDeniedError('this statement ticket has expired; call GetFlightInfo again for a new one');
    }
    return {
      sql: body.sql,
      bucket: body.bucket,
      ...(body.as_of ? { asOf: new Date(body.as_of) } : {}),
      ...(body.parameters === undefined ? {} : { parameters: decodeParameterValues(body.parameters) }),
    };
  }

  private mac(payload: Uint8Array): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }
}
