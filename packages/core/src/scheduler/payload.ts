import { randomUUID } from 'node:crypto';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import type { JobRunRecord, JsonValue, RunTicket } from './types.js';

/** Largest payload (as JSON text) a run may carry. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * The JSON form of a run payload, as every backend delivers it (`Date`s become ISO strings,
 * `undefined` members disappear).
 * @param what names the payload in the error (`trigger("x") payload`)
 * @throws TipError `TIP_INPUT_INVALID` when it is not JSON (a cycle, a BigInt) or is over 256 KiB
 * @internal
 */
export function jsonPayload(value: unknown, what: string): JsonValue | undefined {
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new TipError(TipErrorCodes.INPUT_INVALID, `${what} is not JSON: ${describeError(err)}`, { cause: err, details: { what } });
  }
  if (text === undefined) return undefined;
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
    throw new TipError(TipErrorCodes.INPUT_INVALID, `${what} is ${Buffer.byteLength(text)} bytes of JSON, over the ${MAX_PAYLOAD_BYTES}-byte limit`, {
      details: { what, bytes: Buffer.byteLength(text), limit: MAX_PAYLOAD_BYTES },
    });
  }
  return JSON.parse(text) as JsonValue;
}

/**
 * Makes a {@link RunTicket} of a promise of the record (eager: the promise already runs).
 * @internal
 */
export function ticketOf(runId: string, promise: Promise<JobRunRecord>): RunTicket {
  const enqueued = Promise.resolve(runId);
  return Object.assign(promise, { runId, done: () => promise, enqueued: () => enqueued });
}

/** A ticket that rejected before a run existed (unknown job, stopping, bad payload). @internal */
export function rejectedTicket(err: unknown): RunTicket {
  const failed = Promise.reject(err);
  return Object.assign(failed, { runId: randomUUID(), done: () => failed, enqueued: () => failed as Promise<never> });
}
