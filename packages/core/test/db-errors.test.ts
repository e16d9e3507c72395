import { describe, expect, it } from 'vitest';
import { DriverException } from '@mikro-orm/core';
import { databaseError, isDriverError, TipError, TipErrorCodes } from '../src/index.js';

const where = 'postgres://tip:***@db.example:5432/tip';
const coded = (code: string, message: string): Error => Object.assign(new Error(message), { code });

describe('databaseError', () => {
  it.each([
    ['SQLITE_FULL', 'database or disk is full', 'disk-full', 'database or disk is full'],
    ['SQLITE_BUSY', 'database is locked', 'busy', 'busy'],
    ['SQLITE_LOCKED', 'database table is locked', 'busy', 'locked'],
    ['SQLITE_CANTOPEN', 'unable to open database file', 'cannot-open', 'cannot open the database file'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432', 'unreachable', 'refused the connection'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND db.example', 'unreachable', 'does not resolve'],
    ['3D000', 'database "tpi" does not exist', 'missing', 'does not exist'],
    ['57P01', 'terminating connection due to administrator command', 'terminated', 'terminated the connection'],
    ['57P02', 'terminating connection because of crash of another server process', 'terminated', 'crash'],
    ['57P03', 'the database system is starting up', 'terminated', 'starting up or shutting down'],
    ['28P01', 'password authentication failed for user "tip"', 'auth', 'authentication failed'],
    ['28000', 'no pg_hba.conf entry for host', 'auth', 'authentication failed'],
    ['53100', 'could not extend file: No space left on device', 'disk-full', 'out of disk space'],
    ['57014', 'canceling statement due to statement timeout', 'timeout', 'cancelled'],
  ])('maps %s to a human message naming the database and operation', (code, message, reason, human) => {
    const err = databaseError(coded(code, message), where, 'insert');
    expect(err).toBeInstanceOf(TipError);
    expect(err.code).toBe(TipErrorCodes.DB_FAILED);
    expect(err.message).toContain(`insert on ${where} failed`);
    expect(err.message).toContain(human);
    expect(err.message).toContain(message);
    expect(err.details).toMatchObject({ database: where, operation: 'insert', reason, code });
    expect(isDriverError(coded(code, message))).toBe(true);
  });

  it('looks through MikroORM DriverException and AggregateError wrappers', () => {
    const wrapped = new DriverException(coded('SQLITE_FULL', 'database or disk is full'));
    expect(databaseError(wrapped, 'sqlite:/srv/tip.sqlite', 'flush').details).toMatchObject({ reason: 'disk-full' });
    const aggregate = new AggregateError([coded('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'), coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')], '');
    const err = databaseError(aggregate, where, 'open');
    expect(err.details).toMatchObject({ reason: 'unreachable', code: 'ECONNREFUSED' });
    expect(isDriverError(wrapped)).toBe(true);
  });

  it('recognises errors without a code by their message', () => {
    expect(databaseError(new Error('Connection terminated unexpectedly'), where, 'query').details.reason).toBe('terminated');
    expect(databaseError(new Error('timeout exceeded when trying to connect'), where, 'query').details.reason).toBe('timeout');
  });

  it('attaches a failed rollback and keeps the original error as the cause', () => {
    const original = coded('57P01', 'terminating connection due to administrator command');
    const err = databaseError(original, where, 'transaction', { rollbackError: new Error('Client has encountered a connection error and is not queryable') });
    expect(err.cause).toBe(original);
    expect(err.message).toContain('rollback also failed: Client has encountered a connection error');
    expect(err.details.rollbackError).toContain('not queryable');
  });

  it('passes TipErrors through and does not call application errors driver errors', () => {
    const tip = new TipError(TipErrorCodes.SOURCE_REJECTED, 'too many invalid records');
    expect(databaseError(tip, where, 'transaction')).toBe(tip);
    expect(isDriverError(tip)).toBe(false);
    expect(isDriverError(new TypeError('x is undefined'))).toBe(false);
    const generic = databaseError(new Error('weird'), where, 'query');
    expect(generic.details.reason).toBe('query');
    expect(generic.message).toContain('weird');
  });
});
