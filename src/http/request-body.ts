/**
 * Reading a request body. Served by @hono/node-server, the body is read straight
 * from the Node request (`c.env.incoming`), so no web Request, stream or
 * AbortSignal is built for it; in-process (`app.request()`) it comes from the web
 * Request. The size limit is enforced from Content-Length before anything is read,
 * and again while reading.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { MeetrError } from '../errors.js';
import { nodeBindingsOf } from './node-bindings.js';

/** The media type of a request, lower-cased and without parameters; '' when none was sent. */
export function mediaTypeOf(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The whole body of `c`'s request; throws payload_too_large past `maxBytes`. */
export async function readRequestBody(c: Context, maxBytes: number): Promise<Buffer> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) throw bodyTooLarge(maxBytes);
  const incoming = nodeBindingsOf(c)?.incoming;
  if (incoming !== undefined) return readNodeBody(incoming, maxBytes);
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

function readNodeBody(incoming: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanUp = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanUp();
        incoming.resume(); // the rest is discarded, so the client finishes sending and reads the 413
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
      reject(new MeetrError('invalid_request', `the body could not be read: ${error.message}`, [{ field: 'body', message: 'was cut off' }]));
    };
    const onAborted = (): void => onError(new Error('the client went away'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}

function bodyTooLarge(maxBytes: number): MeetrError {
  return new MeetrError('payload_too_large', `the body is larger than ${maxBytes} bytes (MEETR_MAX_BODY_BYTES)`, [
    { field: 'body', message: `exceeds ${maxBytes} bytes` },
  ]);
}
