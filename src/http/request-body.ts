/**
 * Reading a request body. Served by @hono/node-server, the body is read straight
 * from the Node request (`c.env.incoming`), so no web Request, stream or
 * AbortSignal is built for it; in-process (`app.request()`) it comes from the web
 * Request. The size limit is enforced from Content-Length before anything is read,
 * again while reading, and again while inflating a compressed body (inflated on
 * libuv's thread pool, off the event loop).
 */
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Context } from 'hono';
import { MeetrError } from '../errors.js';
import { nodeBindingsOf } from './node-bindings.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

/**
 * The whole body of `c`'s request, inflated when it came with `Content-Encoding:
 * gzip` or `deflate`. Throws payload_too_large when the body as sent or as inflated
 * is over `maxBytes` (inflating stops at the limit, so a small bomb costs little),
 * unsupported_media_type for other encodings, invalid_request for a broken stream.
 */
export async function readRequestBody(c: Context, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
  if (!['identity', '', 'gzip', 'x-gzip', 'deflate'].includes(encoding)) {
    throw new MeetrError(
      'unsupported_media_type',
      `Content-Encoding ${encoding} is not accepted; send gzip, deflate or no encoding`,
      [{ field: 'content-encoding', message: 'must be gzip, deflate or identity' }],
    );
  }
  const sent = await readSentBody(c, maxBytes, signal);
  if (encoding === 'identity' || encoding === '') return sent;
  return inflateBody(sent, encoding === 'deflate' ? 'deflate' : 'gzip', maxBytes);
}

/**
 * A body in snappy's block format (what Prometheus remote write sends), as sent:
 * uncompressed by the reader of its message (prometheus/remote-write.ts), which
 * checks the length it declares against the limit first and counts as it goes.
 */
export async function readSnappyBody(c: Context, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const encoding = (c.req.header('content-encoding') ?? '').trim().toLowerCase();
  if (encoding !== 'snappy') {
    throw new MeetrError(
      'unsupported_media_type',
      `Content-Encoding ${encoding || 'none'} is not accepted here; remote write sends snappy`,
      [{ field: 'content-encoding', message: 'must be snappy' }],
    );
  }
  return readSentBody(c, maxBytes, signal);
}

async function inflateBody(sent: Buffer, encoding: 'gzip' | 'deflate', maxBytes: number): Promise<Buffer> {
  const options = { maxOutputLength: maxBytes };
  try {
    if (encoding === 'gzip') return await gunzip(sent, options);
    // "deflate" is zlib-wrapped by the standard, raw deflate by some clients: take either.
    return await inflate(sent, options).catch((error: unknown) =>
      isTooLarge(error) ? Promise.reject(error) : inflateRaw(sent, options),
    );
  } catch (error) {
    if (isTooLarge(error)) throw bodyTooLarge(maxBytes, 'inflated ');
    throw new MeetrError('invalid_request', `the ${encoding} body could not be inflated`, [
      { field: 'body', message: `is not valid ${encoding}` },
    ]);
  }
}

function isTooLarge(error: unknown): boolean {
  return (
    error instanceof RangeError ||
    (error instanceof Error && (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
  );
}

/** The body as the client sent it (before any Content-Encoding is undone). */
async function readSentBody(c: Context, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const incoming = nodeBindingsOf(c)?.incoming;
  const declared = c.req.header('content-length');
  if (declared !== undefined && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    discardRest(incoming);
    throw bodyTooLarge(maxBytes);
  }
  if (incoming !== undefined) return readNodeBody(incoming, maxBytes, signal);
  const body = c.req.raw.body;
  if (body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw bodyTooLarge(maxBytes);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, size);
}

function readNodeBody(incoming: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanUp = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
      signal.removeEventListener('abort', onDeadline);
    };
    // A body still arriving at the deadline is refused; the rest of it is never read, so the connection closes.
    const onDeadline = (): void => {
      cleanUp();
      incoming.pause();
      reject(
        new MeetrError(
          'request_timeout',
          `the body did not arrive in time: ${size} bytes came before the deadline (MEETR_REQUEST_TIMEOUT_MS)`,
          [{ field: 'body', message: 'arrived too slowly' }],
        ),
      );
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanUp();
        discardRest(incoming);
        reject(bodyTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanUp();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanUp();
      reject(
        new MeetrError('invalid_request', `the body could not be read: ${error.message}`, [
          { field: 'body', message: 'was cut off' },
        ]),
      );
    };
    const onAborted = (): void => onError(new Error('the client went away'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
    if (signal.aborted) onDeadline();
    else signal.addEventListener('abort', onDeadline, { once: true });
  });
}

/**
 * Reads and drops what is left of a refused body, as nginx's lingering close does,
 * so a client that writes its whole body before it reads (Python's urllib) still
 * receives the 413 rather than a broken pipe. Bounded in time, not bytes: the
 * connection is cut LINGER_MS after the refusal, or after LINGER_IDLE_MS with nothing
 * arriving, so a slow or endless body holds nothing but its own socket for a while.
 */
function discardRest(incoming: IncomingMessage | undefined): void {
  if (incoming === undefined || incoming.readableEnded) return;
  const cut = (): void => {
    incoming.socket.destroy();
  };
  const total = setTimeout(cut, LINGER_MS);
  let idle = setTimeout(cut, LINGER_IDLE_MS);
  const done = (): void => {
    clearTimeout(total);
    clearTimeout(idle);
  };
  incoming.on('data', () => {
    clearTimeout(idle);
    idle = setTimeout(cut, LINGER_IDLE_MS);
  });
  incoming.once('end', done);
  incoming.once('close', done);
  incoming.resume();
}

/** How long a refused body is read and dropped at most (nginx's lingering_time is 30 s). */
export const LINGER_MS = 30_000;
/** How long a refused body may pause before its connection is cut (nginx's lingering_timeout is 5 s). */
export const LINGER_IDLE_MS = 5_000;

function bodyTooLarge(maxBytes: number, what = ''): MeetrError {
  return new MeetrError(
    'payload_too_large',
    `the ${what}body is larger than ${maxBytes} bytes (MEETR_MAX_BODY_BYTES)`,
    [{ field: 'body', message: `${what}exceeds ${maxBytes} bytes` }],
  );
}
