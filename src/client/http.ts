import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { FileHandle } from 'node:fs/promises';
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
 * disk, and downloads streamed to a file handle while hashing. Error bodies become CustodyErrors
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
    const response = await this.send('PUT', path, undefined, { 'content-type': 'application/octet-stream', 'content-length': String(size) }, (req) => pipeInto(createReadStream(file, { highWaterMark: 1024 * 1024 }), req));
    return this.parse<T>(response);
  }

  /**
   * Streams a download into an open file, hashing it; checks the length the server announced.
   * Returns the SHA-256 and size of what was written.
   */
  async download(path: string, out: FileHandle): Promise<{ sha256: string; size: number }> {
    const response = await this.send('GET', path, undefined, { accept: 'application/octet-stream' }, undefined);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) return this.parse<never>(response);
    const expected = Number(response.headers['content-length'] ?? NaN);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of response) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        await out.write(chunk as Buffer);
      }
    } catch (error) {
      throw new CustodyError('REMOTE_ERROR', `the download was cut short after ${size} bytes (the registry stops a file that fails its own integrity check)`, { cause: error });
    }
    if (Number.isFinite(expected) && size !== expected) {
      throw new CustodyError('REMOTE_ERROR', `the download ended after ${size} of ${expected} bytes (the registry stops a file that fails its own integrity check)`);
    }
    return { sha256: hash.digest('hex'), size };
  }
}

async function pipeInto(source: AsyncIterable<unknown>, target: NodeJS.WritableStream): Promise<void> {
  for await (const chunk of source) {
    if (!target.write(chunk as Buffer)) await new Promise<void>((resolve) => target.once('drain', resolve));
  }
}
