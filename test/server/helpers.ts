import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { hashArtifact, manifestToJson } from '../../src/integrity/manifest.js';
import type { RegistrySettings } from '../../src/registry/registry.js';
import { buildApp, DEFAULT_RATE_LIMITS, type RateLimits } from '../../src/server/app.js';
import { openDataDir, type OpenedRegistry } from '../../src/server/start.js';

/** Scratch space of this test process, removed when it exits. */
const WORK = resolve('test/.tmp/server-work', String(process.pid));
process.on('exit', () => rmSync(WORK, { recursive: true, force: true }));

export function workDir(label: string): string {
  mkdirSync(WORK, { recursive: true });
  return mkdtempSync(join(WORK, `${label}-`));
}

export function writeTree(root: string, files: Record<string, string | Buffer>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

export interface TestRegistry {
  app: FastifyInstance;
  opened: OpenedRegistry;
  dataDir: string;
  adminToken: string;
  /** inject() with a bearer token. */
  call(method: string, url: string, options?: { token?: string | undefined; body?: unknown; payload?: string | Buffer; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export const TEST_RATE_LIMITS: RateLimits = { login: DEFAULT_RATE_LIMITS.login, token: { perSecond: 0, burst: 0 }, badToken: { perSecond: 0, burst: 0 } };

/** A registry on a fresh data directory, served in-process (Fastify inject). */
export async function startTestRegistry(options: { settings?: Partial<RegistrySettings>; rateLimits?: RateLimits; dataDir?: string; logger?: unknown } = {}): Promise<TestRegistry> {
  const dataDir = options.dataDir ?? join(workDir('registry'), 'data');
  const opened = await openDataDir({ dataDir, version: '0.0.0-test', settings: { scan: false, ...options.settings } });
  const app = await buildApp({ registry: opened.registry, audit: opened.audit, hide: [dataDir], version: '0.0.0-test', rateLimits: options.rateLimits ?? TEST_RATE_LIMITS, ...(options.logger ? { logger: options.logger as never } : {}) });
  const tokenPath = opened.initialTokenPath ?? join(dataDir, 'initial-admin-token');
  const adminToken = readFileSync(tokenPath, 'utf8').trim();
  return {
    app,
    opened,
    dataDir,
    adminToken,
    call(method, url, callOptions = {}) {
      const headers: Record<string, string> = { ...(callOptions.headers ?? {}) };
      if (callOptions.token !== undefined) headers['authorization'] = `Bearer ${callOptions.token}`;
      let payload: string | Buffer | undefined = callOptions.payload;
      if (callOptions.body !== undefined) {
        payload = JSON.stringify(callOptions.body);
        headers['content-type'] ??= 'application/json';
      }
      return app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) });
    },
    async close() {
      await app.close();
      await opened.close();
    },
  };
}

/** The manifest JSON `custody hash` would print for a directory. */
export async function manifestOf(dir: string): Promise<ReturnType<typeof manifestToJson> & { digest: { sha256: string } }> {
  return manifestToJson(await hashArtifact(dir, { jobs: 0 })) as ReturnType<typeof manifestToJson> & { digest: { sha256: string } };
}

export function encodeName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/** Pushes a directory through the API (start, files, commit); returns the version id. */
export async function pushDir(reg: TestRegistry, token: string, project: string, name: string, dir: string, kind: 'models' | 'datasets' = 'models', extra: Record<string, unknown> = {}): Promise<string> {
  const manifest = await manifestOf(dir);
  const started = await reg.call('POST', `/v1/projects/${project}/${kind}/${name}/uploads`, { token, body: { manifest, ...extra } });
  if (started.statusCode !== 201) throw new Error(`upload start: ${started.statusCode} ${started.body}`);
  const { uploadId, needed } = started.json() as { uploadId: string; needed: string[] };
  for (const file of needed) {
    const put = await reg.call('PUT', `/v1/uploads/${uploadId}/files/${encodeName(file)}`, { token, payload: readFileSync(join(dir, ...file.split('/'))), headers: { 'content-type': 'application/octet-stream' } });
    if (put.statusCode !== 200) throw new Error(`upload ${file}: ${put.statusCode} ${put.body}`);
  }
  const commit = await reg.call('POST', `/v1/uploads/${uploadId}/commit`, { token });
  if (commit.statusCode !== 201) throw new Error(`commit: ${commit.statusCode} ${commit.body}`);
  return (commit.json() as { version: string }).version;
}

export { cli } from '../integrity/helpers.js';
