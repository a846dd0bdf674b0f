import { open, type FileHandle } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BatchedFileWriter } from '../core/batched-writer.js';
import { CustodyError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import { isRecord } from '../core/json.js';

/** Largest JSON answer a client reads (a version of a million files lists them all). */
const MAX_JSON_BYTES = 512 * 1024 * 1024;
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16 });

export type Query = Record<string, string | number | undefined>;

/** Percent-encodes each component of a relative path, keeping the slashes. */
export function encodePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The registry's error body as a CustodyError with the server's code (unknown codes become REMOTE_ERROR). */
function remoteError(status: number, body: unknown, requestId: string | undefined): CustodyError {
  const error = isRecord(body) && isRecord(body['error']) ? body['error'] : undefined;
  const code = error?.['code'];
  const message = typeof error?.['message'] === 'string' ? error['message'] : `the registry answered HTTP ${status}`;
  const details = isRecord(error?.['details']) ? error['details'] : {};
  const id = requestId ?? (typeof error?.['requestId'] === 'string' ? error['requestId'] : undefined);
  return new CustodyError(isErrorCode(code) ? code : 'REMOTE_ERROR', `${message} (HTTP ${status}${id ? `, request ${id}` : ''})`, { details: { ...details, status } });
}

async function readBody(response: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.destroy();
      throw new CustodyError('REMOTE_ERROR', `the registry's answer is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A thin HTTP client of the registry API over node:http(s): JSON calls, file uploads streamed from
 * disk, and downloads streamed to a file handle. Error bodies become CustodyErrors
 * carrying the server's code; a server that cannot be reached is REMOTE_ERROR.
 */
export class RegistryClient {
  readonly url: string;
  private readonly token: string | undefined;

  constructor(url: string, token?: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CustodyError('USAGE', `registry URL ${JSON.stringify(url.slice(0, 200))} is not a URL (set CUSTODY_URL or pass --url)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CustodyError('USAGE', `registry URL must be http(s), found ${parsed.protocol}`);
    if (parsed.username !== '' || parsed.password !== '') throw new CustodyError('USAGE', 'put the token in CUSTODY_TOKEN, not in the URL');
    this.url = parsed.origin + parsed.pathname.replace(/\/+$/, '');
    this.token = token;
  }

  private send(method: string, path: string, query: Query | undefined, headers: Record<string, string>, body: ((req: NodeJS.WritableStream) => Promise<void>) | undefined): Promise<IncomingMessage> {
    const target = new URL(this.url + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) target.searchParams.set(k, String(v));
    const isHttps = target.protocol === 'https:';
    const all: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.token !== undefined) all['authorization'] = `Bearer ${this.token}`;
    return new Promise((resolve, reject) => {
      const req = (isHttps ? httpsRequest : httpRequest)(target, { method, headers: all, agent: isHttps ? httpsAgent : httpAgent }, resolve);
      req.on('error', (error) => reject(new CustodyError('REMOTE_ERROR', `cannot reach the registry at ${this.url}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { cause: error })));
      if (body) {
        body(req).then(
          () => req.end(),
          (error: unknown) => {
            req.destroy();
            reject(error);
          },
        );
      } else req.end();
    });
  }

  private async parse<T>(response: IncomingMessage): Promise<T> {
    const raw = await readBody(response, MAX_JSON_BYTES);
    let body: unknown;
    try {
      body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    } catch {
      throw new CustodyError('REMOTE_ERROR', `the server at ${this.url} answered HTTP ${response.statusCode ?? '?'} with something that is not JSON; is it a Custody registry?`);
    }
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw remoteError(status, body, response.headers['x-request-id'] as string | undefined);
    return body as T;
  }

  async json<T>(method: string, path: string, options: { body?: unknown; query?: Query } = {}): Promise<T> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), 'utf8');
    const headers: Record<string, string> = payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {};
    const response = await this.send(method, path, options.query, headers, payload ? async (req) => void req.write(payload) : undefined);
    return this.parse<T>(response);
  }

  /** GETs a streamed answer (an audit export); error answers become CustodyErrors. */
  async stream(path: string, query?: Query): Promise<AsyncIterable<Buffer>> {
    const response = await this.send('GET', path, query, { accept: '*/*' }, undefined);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) return this.parse<never>(response);
    return response as AsyncIterable<Buffer>;
  }

  /** PUTs a file's bytes (streamed from `path`, `size` bytes) as application/octet-stream. */
  async upload<T>(path: string, file: string, size: number): Promise<T> {
    const handle = await open(file, 'r');
    try {
      const response = await this.send('PUT', path, undefined, { 'content-type': 'application/octet-stream', 'content-length': String(size) }, (req) => sendFileBytes(handle, size, req));
      return await this.parse<T>(response);
    } finally {
      await handle.close();
    }
  }

  /**
   * Streams a download into an open file (in large writes, see BatchedFileWriter) and checks the
   * length the server announced. The caller verifies the digests of what was written (the server
   * has re-checked the blob as it sent it, and withholds the last bytes of one that does not match).
   * Returns the size written.
   */
  async download(path: string, out: FileHandle): Promise<{ size: number }> {
    const response = await this.send('GET', path, undefined, { accept: 'application/octet-stream' }, undefined);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) return this.parse<never>(response);
    const expected = Number(response.headers['content-length'] ?? NaN);
    const writer = new BatchedFileWriter(out);
    let size = 0;
    try {
      for await (const chunk of response) {
        size += (chunk as Buffer).length;
        await writer.write(chunk as Buffer);
      }
      await writer.flush();
    } catch (error) {
      await writer.discard();
      throw new CustodyError('REMOTE_ERROR', `the download was cut short after ${size} bytes (the registry stops a file that fails its own integrity check)`, { cause: error });
    }
    if (Number.isFinite(expected) && size !== expected) {
      throw new CustodyError('REMOTE_ERROR', `the download ended after ${size} of ${expected} bytes (the registry stops a file that fails its own integrity check)`);
    }
    // On disk before the pull renames the directory into place.
    await out.datasync().catch((error: unknown) => {
      throw new CustodyError('IO_ERROR', `cannot flush the downloaded file to disk: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    });
    return { size };
  }
}

/** Uploads read the file 1 MiB at a time, into two reused buffers. */
const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/**
 * Sends `size` bytes of an open file: reads into two reused buffers, reading the next chunk while
 * the previous one is written, and reusing a buffer only once the request reports its write done.
 * A file that is shorter than announced fails (the server would wait for the missing bytes).
 */
async function sendFileBytes(handle: FileHandle, size: number, req: NodeJS.WritableStream): Promise<void> {
  const length = Math.min(UPLOAD_CHUNK_BYTES, Math.max(1, size));
  const buffers = [Buffer.allocUnsafeSlow(length), Buffer.allocUnsafeSlow(length)];
  let writing: Promise<Error | undefined> = Promise.resolve(undefined);
  for (let position = 0, i = 0; position < size; i = 1 - i) {
    const buffer = buffers[i] as Buffer;
    const want = Math.min(buffer.length, size - position);
    const { bytesRead } = await handle.read(buffer, 0, want, position);
    if (bytesRead === 0) throw new CustodyError('IO_ERROR', `the file ended after ${position} of its ${size} bytes while it was being sent`);
    const failed = await writing;
    if (failed) throw failed;
    const chunk = buffer.subarray(0, bytesRead);
    writing = new Promise((resolve) => req.write(chunk, (error?: Error | null) => resolve(error ?? undefined)));
    position += bytesRead;
  }
  const failed = await writing;
  if (failed) throw failed;
}
