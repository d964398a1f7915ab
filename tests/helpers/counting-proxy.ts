// An HTTP proxy that counts the segment bytes crossing the wire between a connector and a real
// object-store server, and the wide incompressible table the ranged-read tests store through it.
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Table, TimestampNanosecond, makeData, makeVector } from 'apache-arrow';

/** Forwards every request unchanged (Host included, so signatures hold) and counts segment GETs and their bytes. */
export class CountingProxy {
  /** Bytes of segment downloads since the last {@link reset}. */
  segmentBytes = 0;
  /** Segment GET requests since the last {@link reset}. */
  segmentGets = 0;
  /** Those of {@link segmentGets} that asked for a byte range (`Range` or Azure's `x-ms-range`). */
  rangedGets = 0;

  private constructor(private readonly server: Server, readonly endpoint: string) {}

  /** Starts a proxy on a free loopback port in front of `target` (an http URL); `pathSuffix` is appended to its endpoint. */
  static async start(target: string, pathSuffix = ''): Promise<CountingProxy> {
    const upstream = new URL(target);
    let proxy: CountingProxy | undefined;
    const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
      const forwarded = request(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          if (incoming.method === 'GET' && (incoming.url ?? '').includes('/segments/')) {
            proxy!.segmentGets++;
            if (incoming.headers.range || incoming.headers['x-ms-range']) proxy!.rangedGets++;
            response.on('data', (chunk: Buffer) => (proxy!.segmentBytes += chunk.byteLength));
          }
          response.pipe(outgoing);
        },
      );
      forwarded.on('error', () => outgoing.destroy());
      incoming.pipe(forwarded);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new CountingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}${pathSuffix}`);
    return proxy;
  }

  /** Zeroes the counters. */
  reset(): void {
    this.segmentBytes = 0;
    this.segmentGets = 0;
    this.rangedGets = 0;
  }

  /** Stops listening. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The value columns of {@link wideTable}. */
export const WIDE_VALUE_COLUMNS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];

/**
 * A time column `t` (nanoseconds from `t0`, one per millisecond) and six float64 columns of
 * pseudo-random values (incompressible, like real prices), as batches of 50,000 rows, as clients send them.
 */
export function wideTable(rows: number, t0 = 1_700_000_000_000_000_000n): Table {
  let seed = 12345;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const batches: Table[] = [];
  for (let offset = 0; offset < rows; offset += 50_000) {
    const length = Math.min(50_000, rows - offset);
    const columns: Record<string, ReturnType<typeof makeVector>> = {
      t: makeVector(makeData({ type: new TimestampNanosecond(), length, data: BigInt64Array.from({ length }, (_, i) => t0 + BigInt(offset + i) * 1_000_000n) })),
    };
    for (const name of WIDE_VALUE_COLUMNS) columns[name] = makeVector(Float64Array.from({ length }, () => random() * 1000));
    batches.push(new Table(columns));
  }
  return batches[0]!.concat(...batches.slice(1));
}

/** A float64 column's values as one array. */
export function valuesOf(table: Table, column: string): Float64Array {
  return Float64Array.from(table.getChild(column)!.toArray() as Float64Array);
}
