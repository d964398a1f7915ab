// Reading `sqlite:` locations: the catalog path, the storage location after `data=` (verbatim, so
// an S3 location keeps its own query), the default data directory and the catalog's options.
import { describe, expect, it } from 'vitest';
import type { ObjectLayout } from '../../src/storage/object-layout.js';
import { defaultConnectorRegistry } from '../../src/connectors/registry.js';
import { S3Connector } from '../../src/connectors/s3/s3-connector.js';
import { defaultDataDirectory, sqliteLocationFromUrl } from '../../src/connectors/sqlite/sqlite-config.js';
import { SqliteConnector } from '../../src/connectors/sqlite/sqlite-connector.js';
import { InvalidArgumentError } from '../../src/errors.js';

const parse = (location: string) => sqliteLocationFromUrl(new URL(location));

describe('sqlite locations', () => {
  it('defaults the data directory beside the catalog', () => {
    expect(parse('sqlite:///var/hangar/catalog.db')).toEqual({ catalog: '/var/hangar/catalog.db', data: '/var/hangar/catalog-data' });
    expect(defaultDataDirectory('/x/index.sqlite3')).toBe('/x/index-data');
  });

  it('takes everything after data= verbatim, and the catalog options before it', () => {
    expect(parse('sqlite:///c.db?fsync=false&busyTimeoutMs=100&data=s3://bucket/pre/fix?endpoint=http://127.0.0.1:9000&region=eu-west-1')).toEqual({
      catalog: '/c.db',
      data: 's3://bucket/pre/fix?endpoint=http://127.0.0.1:9000&region=eu-west-1',
      fsync: false,
      busyTimeoutMs: 100,
    });
    expect(parse('sqlite:///c.db?data=/srv/segments').data).toBe('/srv/segments');
    expect(parse('sqlite:///c.db?data=file%3A%2F%2F%2Fsrv%2Fsegments').data).toBe('file:///srv/segments');
  });

  it('resolves a relative catalog path against the working directory', () => {
    expect(parse('sqlite:catalog.db').catalog).toBe(`${process.cwd()}/catalog.db`);
  });

  it('refuses hosts, unknown parameters and nested catalogs', () => {
    expect(() => parse('sqlite://host/c.db')).toThrow(InvalidArgumentError);
    expect(() => parse('sqlite:///c.db?cache=1')).toThrow(/unknown sqlite location parameter 'cache'/);
    expect(() => parse('sqlite:///c.db?data=sqlite:///d.db')).toThrow(InvalidArgumentError);
    expect(() => parse('sqlite:///c.db?data=memory:')).toThrow(InvalidArgumentError);
    expect(() => parse('sqlite:///')).toThrow(InvalidArgumentError);
  });

  it('is registered, with the storage connector built by the same registry', async () => {
    const connector = await defaultConnectorRegistry().create('sqlite:///tmp/h/catalog.db?data=s3://bucket/prefix?endpoint=http://127.0.0.1:1');
    expect(connector).toBeInstanceOf(SqliteConnector);
    const storage = ((connector as SqliteConnector).storage as ObjectLayout).connector;
    expect(storage).toBeInstanceOf(S3Connector);
    expect((storage as S3Connector).options.endpoint).toBe('http://127.0.0.1:1');
    expect((connector as SqliteConnector).catalogPath).toBe('/tmp/h/catalog.db');
  });
});
