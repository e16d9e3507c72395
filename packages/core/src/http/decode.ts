/**
 * Streaming building blocks for {@link HttpClient}: Content-Encoding decoders and byte limits.
 *
 * Internal to `@tip/core`; not re-exported from the package root.
 *
 * @module
 * @internal
 */
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/** A Content-Encoding coding that {@link createDecoders} can undo. */
export type ContentCoding = 'gzip' | 'deflate' | 'br';

/**
 * Parses a `Content-Encoding` header into the codings to undo, in the order they must be undone
 * (the last coding applied by the server comes first). `identity` and empty entries are dropped.
 *
 * @returns the codings, or a string naming the first unsupported coding
 * @internal
 */
export function parseContentEncoding(header: string | string[] | undefined): ContentCoding[] | string {
  if (header === undefined) return [];
  const raw = (Array.isArray(header) ? header.join(',') : header).split(',');
  const codings: ContentCoding[] = [];
  for (const entry of raw) {
    const name = entry.trim().toLowerCase();
    if (name === '' || name === 'identity') continue;
    if (name === 'gzip' || name === 'x-gzip') codings.push('gzip');
    else if (name === 'deflate') codings.push('deflate');
    else if (name === 'br') codings.push('br');
    else return name;
  }
  return codings.reverse();
}

/**
 * True when `head` starts with a zlib (RFC 1950) header: compression method 8 and a valid check
 * value. Servers disagree on whether `deflate` means zlib-wrapped or raw (RFC 1951) data.
 */
function isZlibHeader(head: Buffer): boolean {
  if (head.length < 2) return false;
  const cmf = head[0]!;
  const flg = head[1]!;
  return (cmf & 0x0f) === 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

/**
 * A decoder for one coding that creates its zlib stream lazily on the first body bytes, so an
 * empty body (HEAD, 204, 304, or a server that labels an empty body `gzip`) decodes to nothing
 * instead of failing with "unexpected end of file". For `deflate` it sniffs the first two bytes to
 * choose between zlib-wrapped and raw deflate.
 *
 * Backpressure is preserved end to end: the inner zlib stream is paused whenever this stream's
 * readable buffer is full, and Node's zlib stops inflating mid-chunk when its own buffer is full,
 * so a decompression bomb is never expanded faster than the consumer reads it.
 */
class LazyDecoder extends Transform {
  private inner: zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress | undefined;
  private head: Buffer[] = [];
  private headLength = 0;

  constructor(private readonly coding: ContentCoding) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inner) {
      this.feed(chunk, callback);
      return;
    }
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < 2) {
      callback();
      return;
    }
    const first = Buffer.concat(this.head);
    this.head = [];
    this.start(first);
    this.feed(first, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.inner) {
      if (this.headLength === 0) {
        callback();
        return;
      }
      // A single byte: too short to be valid; let zlib report it.
      const first = Buffer.concat(this.head);
      this.head = [];
      this.start(first);
      this.inner!.write(first);
    }
    const inner = this.inner!;
    inner.once('end', () => callback());
    inner.end();
  }

  override _read(size: number): void {
    if (this.inner?.isPaused()) this.inner.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner?.destroy();
    callback(error);
  }

  private start(first: Buffer): void {
    let inner: zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress;
    if (this.coding === 'gzip') inner = zlib.createGunzip();
    else if (this.coding === 'br') inner = zlib.createBrotliDecompress();
    else inner = isZlibHeader(first) ? zlib.createInflate() : zlib.createInflateRaw();
    inner.on('data', (data: Buffer) => {
      if (!this.push(data)) inner.pause();
    });
    inner.on('error', (err) => this.destroy(err));
    this.inner = inner;
  }

  private feed(chunk: Buffer, callback: TransformCallback): void {
    // On failure the 'error' listener destroys this stream; the callback must not fire twice.
    this.inner!.write(chunk, (err) => {
      if (!err) callback();
    });
  }
}

/**
 * Creates the chain of streaming decoders that undoes `codings` (as returned by
 * {@link parseContentEncoding}), to be piped in order.
 *
 * @internal
 */
export function createDecoders(codings: readonly ContentCoding[]): Transform[] {
  return codings.map((coding) => new LazyDecoder(coding));
}

/**
 * A pass-through stream that counts bytes and fails with the error from `onExceed` as soon as more
 * than `limit` bytes have passed.
 *
 * @internal
 */
export class ByteLimit extends Transform {
  /** Bytes that have passed through so far. */
  bytes = 0;

  /**
   * @param limit the most bytes allowed through
   * @param onExceed builds the error the stream fails with, given the byte count that crossed the limit
   */
  constructor(
    private readonly limit: number,
    private readonly onExceed: (bytes: number) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) callback(this.onExceed(this.bytes));
    else callback(null, chunk);
  }
}
