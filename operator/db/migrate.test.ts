// The runner itself is tested against PostgreSQL in test/db/migrate.test.ts;
// these are its pure parts.
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { MIGRATION_LOCK_KEY, scrubberFor } from './migrate.js';

describe('MIGRATION_LOCK_KEY', () => {
  it('is derived from the history table name and never changes between versions', () => {
    // Runners of different Cutover versions must agree on it to serialise.
    expect(MIGRATION_LOCK_KEY).toBe(3262045923107162183n);
    const digest = createHash('sha256').update('cutover_schema_migrations').digest();
    expect(MIGRATION_LOCK_KEY).toBe(digest.readBigInt64BE(0));
  });
});

describe('scrubberFor', () => {
  it('removes the user-info of any URL', () => {
    const scrub = scrubberFor('postgres://app:s3cret@db:5432/shop');
    expect(scrub('cannot reach postgres://app:s3cret@db:5432/shop now')).toBe(
      'cannot reach postgres://***@db:5432/shop now',
    );
    expect(scrub('also postgresql://other:pw@x/y')).toBe('also postgresql://***@x/y');
  });

  it('removes the password wherever it appears, raw or percent-decoded', () => {
    const scrub = scrubberFor('postgres://app:p%40ss%2Fw0rd@db/shop');
    expect(scrub('invalid input: "p@ss/w0rd"')).toBe('invalid input: "***"');
    expect(scrub('raw p%40ss%2Fw0rd')).toBe('raw ***');
  });

  it('takes the password from a config object, and from its connection string', () => {
    expect(scrubberFor({ password: 'hunter22' })('x hunter22 y')).toBe('x *** y');
    expect(scrubberFor({ connectionString: 'postgres://a:opensesame@h/d' })('opensesame')).toBe('***');
  });

  it('leaves text alone when there is nothing secret, and ignores passwords too short to matter', () => {
    expect(scrubberFor('postgres://db/shop')('relation "users" does not exist')).toBe(
      'relation "users" does not exist',
    );
    expect(scrubberFor('postgres://a:b@h/d')('a b c')).toBe('a b c');
  });

  it('survives a password that is not valid percent-encoding', () => {
    expect(scrubberFor('postgres://a:100%pure@h/d')('100%pure')).toBe('***');
  });
});
