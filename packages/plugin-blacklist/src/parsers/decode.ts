/**
 * Turns a downloaded feed body into text: gzip and zip are unpacked (with size limits that stop
 * decompression bombs), a UTF-8 (or UTF-16) byte-order mark is dropped, and the rest is decoded
 * as UTF-8 (invalid sequences become U+FFFD).
 *
 * @module
 */
import { constants } from 'node:buffer';
import { promisify } from 'node:util';
import { createGunzip, gunzip, gunzipSync } from 'node:zlib';
import { TipError, TipErrorCodes } from '@tip/core';
import { unzipSync, type UnzipFileInfo } from 'fflate';

/** Options of {@link decodeFeedBody}. */
export interface DecodeOptions {
  /** Largest (decompressed) body accepted, in bytes. */
  maxBytes: number;
  /** Feed/source name used in error messages. */
  name?: string;
  /** For zip archives: the file to read (default: the only, or the first, file). */
  entry?: string;
}

/** A zip entry whose declared size exceeds its compressed size by more than this factor is refused. */
export const MAX_ZIP_RATIO = 200;

const utf8 = new TextDecoder('utf-8');
const utf16Decoder = new TextDecoder('utf-16le');

function tooLarge(name: string, maxBytes: number, extra: Record<string, unknown> = {}, what = 'decompressed body'): TipError {
  return new TipError(TipErrorCodes.HTTP_TOO_LARGE, `feed ${name}: ${what} exceeds the ${maxBytes}-byte limit`, {
    details: { source: name, limit: maxBytes, ...extra },
  });
}

function broken(name: string, message: string, cause?: unknown, extra: Record<string, unknown> = {}): TipError {
  return new TipError(TipErrorCodes.HTTP_TRUNCATED, `feed ${name}: ${message}`, { cause, details: { source: name, ...extra } });
}

function unzipEntry(body: Uint8Array, name: string, maxBytes: number, wanted: string | undefined): Uint8Array {
  const entries: UnzipFileInfo[] = [];
  try {
    unzipSync(body, {
      filter: (f) => {
        entries.push(f);
        return false;
      },
    });
  } catch (e) {
    throw broken(name, 'unreadable zip archive', e);
  }
  const files = entries.filter((f) => !f.name.endsWith('/') && !f.name.startsWith('__MACOSX/'));
  const pick = wanted === undefined ? files[0] : files.find((f) => f.name === wanted) ?? files.find((f) => f.name.split('/').pop() === wanted);
  if (!pick) {
    if (wanted !== undefined) {
      throw new TipError(TipErrorCodes.CONFIG_INVALID, `feed ${name}: zip archive has no entry "${wanted}"`, {
        details: { source: name, entry: wanted, entries: files.map((f) => f.name).slice(0, 50), issues: [{ path: 'entry', message: 'not in archive' }] },
      });
    }
    throw broken(name, 'zip archive contains no file');
  }
  if (pick.originalSize > maxBytes) throw tooLarge(name, maxBytes, { entry: pick.name, declaredSize: pick.originalSize }, `zip entry "${pick.name}"`);
  if (pick.originalSize > Math.max(pick.size, 1) * MAX_ZIP_RATIO) {
    const ratio = Math.round(pick.originalSize / Math.max(pick.size, 1));
    throw new TipError(TipErrorCodes.HTTP_TOO_LARGE, `feed ${name}: zip entry "${pick.name}" expands ${ratio}:1 (over ${MAX_ZIP_RATIO}:1), refused as a zip bomb`, {
      details: { source: name, limit: maxBytes, entry: pick.name, declaredSize: pick.originalSize, compressedSize: pick.size },
    });
  }
  let out: Uint8Array | undefined;
  try {
    out = unzipSync(body, { filter: (f) => f.name === pick.name })[pick.name];
  } catch (e) {
    throw broken(name, `cannot decompress zip entry "${pick.name}"`, e, { entry: pick.name });
  }
  if (!out) throw broken(name, `cannot decompress zip entry "${pick.name}"`, undefined, { entry: pick.name });
  return out;
}

/**
 * Decodes a feed body to text.
 *
 * @throws TipError `TIP_HTTP_TOO_LARGE` (naming the source and, for zip, the entry) when the
 *   (decompressed) body exceeds `maxBytes` or a zip entry's compression ratio is absurd;
 *   `TIP_HTTP_TRUNCATED` for corrupt gzip/zip data; `TIP_CONFIG_INVALID` when `entry` is not in
 *   the archive
 */
export function decodeFeedBody(body: Uint8Array, options: DecodeOptions): string {
  const name = options.name ?? 'body';
  const { maxBytes } = options;
  let bytes = body;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: gunzipLimit(maxBytes) });
    } catch (e) {
      throw gunzipError(e, name, maxBytes);
    }
  }
  return decodeText(bytes, bytes === body, name, maxBytes, options.entry);
}

/**
 * {@link decodeFeedBody} with gzip decompressed on the libuv thread pool instead of the event
 * loop (a 100 MiB feed takes a few hundred ms to gunzip). Same result and errors.
 */
export async function decodeFeedBodyAsync(body: Uint8Array, options: DecodeOptions): Promise<string> {
  const name = options.name ?? 'body';
  const { maxBytes } = options;
  let bytes = body;
  if (isGzip(bytes)) {
    try {
      bytes = await gunzipAsync(bytes, { maxOutputLength: gunzipLimit(maxBytes) });
    } catch (e) {
      throw gunzipError(e, name, maxBytes);
    }
  }
  return decodeText(bytes, bytes === body, name, maxBytes, options.entry);
}

const gunzipAsync = promisify(gunzip);

/**
 * Decompressed bytes per segment of {@link decodeFeedSegments} (about; a segment ends at a line
 * end). Small enough that a segment's string is an ordinary young-generation object, collected
 * cheaply, instead of a large object that lives until a full garbage collection.
 */
export const SEGMENT_BYTES = 64 * 1024;

/** Options of {@link decodeFeedSegments}. */
export interface SegmentOptions extends DecodeOptions {
  /**
   * The parser's line-length limit in characters. A line longer than one segment is cut to a few
   * times this many bytes (still over the limit, so the parser counts it as invalid) and the rest
   * of it is dropped without being kept in memory.
   */
  maxLineLength: number;
  /** Decompressed bytes per segment (default {@link SEGMENT_BYTES}). */
  segmentBytes?: number;
}

/**
 * {@link decodeFeedBodyAsync} in pieces: the body (gzip undone as a stream on the libuv thread
 * pool) is decoded into text segments of about `segmentBytes` (more when a line is longer) that
 * each end at a line end (the last may not), so a caller parsing line by line holds one segment
 * at a time, not the whole body. Zip archives and UTF-16 bodies are decoded whole (one segment).
 * Same size limit and errors as `decodeFeedBodyAsync`; concatenated, the segments are its text
 * (except that a line longer than a segment and without end in sight is cut, see
 * {@link SegmentOptions.maxLineLength}).
 * @internal
 */
export async function* decodeFeedSegments(body: Uint8Array, options: SegmentOptions): AsyncGenerator<string, void, void> {
  const name = options.name ?? 'body';
  const { maxBytes } = options;
  const gz = isGzip(body);
  if (!gz && isZip(body)) {
    yield await decodeFeedBodyAsync(body, options);
    return;
  }
  // A line longer than `keep` bytes has more than maxLineLength characters (UTF-8 needs at most
  // 3 bytes per UTF-16 unit): keeping its first `keep` bytes keeps it invalid.
  const keep = 3 * (options.maxLineLength + 1) + 4;
  const segment = Math.max(options.segmentBytes ?? SEGMENT_BYTES, 4 * keep);
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let total = 0;
  let started = false;
  let utf16 = false;
  let head: Uint8Array | null = null; // the kept start of an overlong line whose rest is being dropped
  for await (const chunk of gz ? gunzipStream(body, name, maxBytes) : slices(body, segment)) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(name, maxBytes, gz ? { encoding: 'gzip' } : { size: body.length }, gz ? 'decompressed body' : 'body');
    if (!started && chunk.length > 0) {
      started = true;
      utf16 = chunk.length >= 2 && chunk[0] === 0xff && chunk[1] === 0xfe;
    }
    let data = chunk;
    if (head) {
      const nl = data.indexOf(0x0a);
      if (nl < 0) continue; // still inside the overlong line
      pending = [head];
      pendingBytes = head.length;
      head = null;
      data = data.subarray(nl);
    }
    pending.push(data);
    pendingBytes += data.length;
    if (utf16 || pendingBytes < segment) continue;
    const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    let pos = 0;
    while (buf.length - pos >= segment) {
      let end = buf.lastIndexOf(0x0a, pos + segment - 1);
      if (end < pos) end = buf.indexOf(0x0a, pos + segment); // a line longer than a segment
      if (end < 0) {
        // no line end in the rest, which is at least a segment long: keep the line's start, drop the rest up to its end
        head = Uint8Array.prototype.slice.call(buf, pos, pos + keep);
        pos = buf.length;
        break;
      }
      yield utf8.decode(buf.subarray(pos, end + 1));
      pos = end + 1;
    }
    const rest = pos < buf.length ? Uint8Array.prototype.slice.call(buf, pos) : undefined;
    pending = rest ? [rest] : [];
    pendingBytes = rest ? rest.length : 0;
  }
  if (head) {
    yield utf8.decode(head);
    return;
  }
  if (pendingBytes === 0) return;
  const buf = Buffer.concat(pending, pendingBytes);
  yield utf16 ? utf16Decoder.decode(buf) : utf8.decode(buf);
}

/** The decompressed chunks of a gzip body, decompressed on the libuv thread pool as they are read. */
async function* gunzipStream(body: Uint8Array, name: string, maxBytes: number): AsyncGenerator<Uint8Array, void, void> {
  const stream = createGunzip({ chunkSize: 64 * 1024 });
  stream.end(body);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
  } catch (e) {
    throw gunzipError(e, name, maxBytes);
  } finally {
    stream.destroy();
  }
}

/** `body` in slices of `size` bytes (views, no copies). */
function* slices(body: Uint8Array, size: number): Generator<Uint8Array, void, void> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gunzipLimit(maxBytes: number): number {
  return Math.max(1, Math.min(maxBytes, constants.MAX_LENGTH));
}

function gunzipError(e: unknown, name: string, maxBytes: number): TipError {
  if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) return tooLarge(name, maxBytes, { encoding: 'gzip' });
  return broken(name, 'corrupt gzip data', e, { encoding: 'gzip' });
}

/** The rest of decoding once gzip is undone: zip (not inside gzip), size limit, byte-order mark, UTF-8/UTF-16. */
function decodeText(body: Uint8Array, zipAllowed: boolean, name: string, maxBytes: number, entry: string | undefined): string {
  let bytes = body;
  if (zipAllowed && isZip(bytes)) {
    bytes = unzipEntry(bytes, name, maxBytes, entry);
  }
  if (bytes.length > maxBytes) throw tooLarge(name, maxBytes, { size: bytes.length }, 'body');
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return utf16Decoder.decode(bytes); // drops the BOM
  return utf8.decode(bytes); // TextDecoder drops a UTF-8 BOM
}
