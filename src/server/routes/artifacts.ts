import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CustodyError } from '../../core/errors.js';
import { KIND_SEGMENTS, type ArtifactKind } from '../../registry/names.js';
import type { RouteContext } from '../app.js';
import { BODY_LIMITS } from '../app.js';
import { attachmentViewSchema, bundleSchema, digestSchema, manifestSchema, nameSchema, storedFileSchema, timeSchema, versionViewSchema, withErrors } from '../schemas.js';

const versionDetailSchema = {
  ...versionViewSchema,
  required: [...versionViewSchema.required, 'manifest', 'fileList', 'attachments', 'bundles'],
  properties: {
    ...versionViewSchema.properties,
    manifest: manifestSchema,
    fileList: { type: 'array', items: storedFileSchema },
    attachments: { type: 'array', items: attachmentViewSchema },
    bundles: {
      type: 'object',
      required: ['signature', 'attestations', 'scan'],
      properties: {
        signature: { anyOf: [bundleSchema, { type: 'null' }] },
        attestations: { type: 'array', items: bundleSchema },
        scan: { anyOf: [bundleSchema, { type: 'null' }] },
      },
    },
  },
} as const;

/** The file name of a wildcard route, decoded once (clients encode each path component). */
function fileParam(request: FastifyRequest): string {
  const raw = (request.params as Record<string, string | undefined>)['*'] ?? '';
  if (raw === '') throw new CustodyError('NAME_INVALID', 'no file name given');
  return raw;
}

export function registerArtifactRoutes(app: FastifyInstance, { registry }: RouteContext): void {
  for (const kind of ['model', 'dataset'] as const satisfies readonly ArtifactKind[]) {
    const segment = KIND_SEGMENTS[kind];
    const base = `/v1/projects/:project/${segment}`;
    const tag = segment;
    const Kind = kind === 'model' ? 'Model' : 'Dataset';
    const artifactParams = { type: 'object', required: ['project', 'name'], properties: { project: nameSchema, name: nameSchema } } as const;
    const versionParams = { type: 'object', required: ['project', 'name', 'version'], properties: { project: nameSchema, name: nameSchema, version: digestSchema } } as const;
    type VersionParams = { project: string; name: string; version: string };

    app.get<{ Params: { project: string } }>(
      base,
      {
        config: { action: 'artifact.read', operationId: `list${Kind}s`, summary: `The ${segment} of a project`, tags: [tag] },
        schema: {
          params: { type: 'object', required: ['project'], properties: { project: nameSchema } },
          response: withErrors({
            200: {
              type: 'object',
              required: [segment],
              properties: { [segment]: { type: 'array', items: { type: 'object', required: ['name', 'versions', 'latest'], properties: { name: { type: 'string' }, versions: { type: 'integer' }, latest: { type: ['string', 'null'] } } } } },
            },
          }),
        },
      },
      async (request) => ({ [segment]: await registry.listArtifacts(request.ctx, request.params.project, kind) }),
    );

    app.get<{ Params: { project: string; name: string } }>(
      `${base}/:name`,
      {
        config: { action: 'artifact.read', operationId: `list${Kind}Versions`, summary: `The versions of a ${kind}, newest first`, tags: [tag] },
        schema: { params: artifactParams, response: withErrors({ 200: { type: 'object', required: ['versions'], properties: { versions: { type: 'array', items: versionViewSchema } } } }) },
      },
      async (request) => ({ versions: await registry.listVersions(request.ctx, request.params.project, kind, request.params.name) }),
    );

    app.post<{ Params: { project: string; name: string }; Body: { manifest: unknown; signature?: unknown; attestations?: unknown[] } }>(
      `${base}/:name/uploads`,
      {
        bodyLimit: BODY_LIMITS.manifest,
        config: { action: 'version.push', operationId: `start${Kind}Upload`, summary: `Start pushing a ${kind} version: its manifest, signature and attestations; answers which files to send`, tags: [tag] },
        schema: {
          params: artifactParams,
          body: {
            type: 'object',
            required: ['manifest'],
            additionalProperties: false,
            properties: { manifest: manifestSchema, signature: { anyOf: [bundleSchema, { type: 'null' }] }, attestations: { type: 'array', maxItems: 32, items: bundleSchema } },
          },
          response: withErrors({
            201: {
              type: 'object',
              required: ['uploadId', 'version', 'expiresAt', 'needed'],
              properties: { uploadId: { type: 'string' }, version: digestSchema, expiresAt: timeSchema, needed: { type: 'array', items: { type: 'string' } } },
            },
          }),
        },
      },
      async (request, reply) => {
        const { manifest, signature, attestations } = request.body;
        const started = await registry.startUpload(request.ctx, {
          project: request.params.project,
          kind,
          name: request.params.name,
          manifest,
          ...(signature === undefined ? {} : { signature }),
          ...(attestations === undefined ? {} : { attestations }),
        });
        return reply.code(201).send(started);
      },
    );

    app.get<{ Params: VersionParams }>(
      `${base}/:name/versions/:version`,
      {
        config: { action: 'artifact.read', operationId: `show${Kind}Version`, summary: `A ${kind} version: manifest, files, signature, attestations and the server's scan`, tags: [tag] },
        schema: { params: versionParams, response: withErrors({ 200: versionDetailSchema }) },
      },
      async (request) => registry.showVersion(request.ctx, request.params.project, kind, request.params.name, request.params.version),
    );

    app.get<{ Params: VersionParams & { '*': string } }>(
      `${base}/:name/versions/:version/files/*`,
      {
        config: { action: 'artifact.download', operationId: `download${Kind}File`, summary: 'Download one file of a version; the server re-checks its digest as it sends it', tags: [tag], rawResponse: 'application/octet-stream' },
        schema: {
          params: { ...versionParams, required: [...versionParams.required, '*'], properties: { ...versionParams.properties, '*': { type: 'string', minLength: 1, maxLength: 4096, description: 'The file name, each path component percent-encoded' } } },
          response: withErrors({ 200: { type: 'string' } }),
        },
      },
      async (request, reply) => {
        const { stream, size, sha256 } = await registry.openFile(request.ctx, request.params.project, kind, request.params.name, request.params.version, fileParam(request));
        return reply.header('content-length', String(size)).header('x-custody-sha256', sha256).header('content-disposition', 'attachment').type('application/octet-stream').send(stream);
      },
    );

    app.post<{ Params: VersionParams }>(
      `${base}/:name/versions/:version/archive`,
      {
        config: { action: 'version.archive', operationId: `archive${Kind}Version`, summary: 'Archive a version (it stays downloadable, marked archived; versions are never changed or deleted)', tags: [tag] },
        schema: { params: versionParams, response: withErrors({ 200: versionViewSchema }) },
      },
      async (request) => registry.archiveVersion(request.ctx, request.params.project, kind, request.params.name, request.params.version),
    );

    app.post<{ Params: VersionParams; Body: { bundle: unknown } }>(
      `${base}/:name/versions/:version/attestations`,
      {
        bodyLimit: BODY_LIMITS.attestation,
        config: { action: 'version.attach', operationId: `attest${Kind}Version`, summary: 'Attach an attestation (signed in-toto statement about the version); the server verifies it against the project keys and records the outcome', tags: [tag] },
        schema: { params: versionParams, body: { type: 'object', required: ['bundle'], additionalProperties: false, properties: { bundle: bundleSchema } }, response: withErrors({ 201: attachmentViewSchema }) },
      },
      async (request, reply) => reply.code(201).send(await registry.attach(request.ctx, request.params.project, kind, request.params.name, request.params.version, request.body.bundle)),
    );
  }

  void app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    scope.put<{ Params: { upload: string; '*': string } }>(
      '/v1/uploads/:upload/files/*',
      {
        config: { action: 'version.push', operationId: 'uploadFile', summary: 'Send one file of an upload; it is hashed on the way in and kept only if it matches the manifest', tags: ['uploads'], rawBody: 'application/octet-stream' },
        schema: {
          params: { type: 'object', required: ['upload', '*'], properties: { upload: { type: 'string', pattern: '^up-[0-9a-f]{24}$' }, '*': { type: 'string', minLength: 1, maxLength: 4096 } } },
          response: withErrors({ 200: storedFileSchema }),
        },
      },
      async (request) => {
        const body = request.body as AsyncIterable<Uint8Array> | undefined;
        if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') throw new CustodyError('REQUEST_INVALID', 'send the file as application/octet-stream');
        return registry.uploadFile(request.ctx, request.params.upload, fileParam(request), body);
      },
    );
  });

  app.post<{ Params: { upload: string } }>(
    '/v1/uploads/:upload/commit',
    {
      config: { action: 'version.push', operationId: 'commitUpload', summary: 'Finish an upload: every file must have arrived; the version becomes visible whole', tags: ['uploads'] },
      schema: { params: { type: 'object', required: ['upload'], properties: { upload: { type: 'string', pattern: '^up-[0-9a-f]{24}$' } } }, response: withErrors({ 201: versionViewSchema }) },
    },
    async (request, reply) => reply.code(201).send(await registry.commitUpload(request.ctx, request.params.upload)),
  );
}
