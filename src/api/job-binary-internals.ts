import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { createOnce } from './idempotency.js';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { ApiError } from '../errors.js';
import type { JobBinaryInternalRecord } from '../store/types.js';
import { registerDeleteRoute, registerListRoute } from './resource-routes.js';
import type { ListSpec } from './listing.js';
import { renderOwned } from './render.js';
import { BinaryData, FORMATS, IdParams, NullableBoolean, OwnedFields, ValidName } from './schemas.js';
import { checkModifiable, getVisible } from '../store/visibility.js';

/** Sahara's job_binary_max_KB default, the largest job-binary-internal accepted. */
export const DEFAULT_MAX_JBI_BYTES = 5120 * 1024;

const KIND = 'JobBinaryInternal';

export const JobBinaryInternalSchema = Type.Object({
  ...OwnedFields,
  name: Type.String(),
  datasize: Type.Integer({ description: 'Size of the stored bytes' }),
});

/** The bytes are never rendered; only their size. */
export function renderJobBinaryInternal(row: JobBinaryInternalRecord) {
  return renderOwned(row, { name: row.name, datasize: row.datasize });
}

const LIST: ListSpec = {
  key: 'binaries',
  sortFields: ['id', 'name', 'created_at', 'updated_at'],
  filters: { id: 'exact', tenant_id: 'exact', name: 'contains', is_public: 'boolean', is_protected: 'boolean' },
  markerMode: 'after',
};

const Envelope = Type.Object({ job_binary_internal: JobBinaryInternalSchema });
const NameParams = Type.Object({ project_id: Type.String(), name: Type.String() });
const JbiUpdate = Type.Object(
  {
    name: Type.Optional(ValidName),
    is_public: Type.Optional(NullableBoolean),
    is_protected: Type.Optional(NullableBoolean),
  },
  { additionalProperties: false },
);

const tooBig = (maxBytes: number, size?: number) =>
  new ApiError(
    'DATA_TOO_BIG',
    size === undefined
      ? `Size of internal binary is greater than the maximum (${maxBytes / 1024}KB)`
      : `Size of internal binary (${Math.round((size / 1024) * 1000) / 1000}KB) is greater than the maximum (${maxBytes / 1024}KB)`,
  );

/**
 * v1.1 job-binary-internals: scripts and jars stored in Oasis's own database. Uploads are raw
 * bytes named by the URL; the largest accepted upload is the configured body limit (5120 KiB by
 * default, Sahara's job_binary_max_KB).
 */
export function registerJobBinaryInternalRoutes(api: Api, deps: AppDeps): void {
  const repo = deps.store.jobBinaryInternals;
  const maxBytes = deps.config.bodyLimitBytes || DEFAULT_MAX_JBI_BYTES;

  registerListRoute(api, {
    path: '/job-binary-internals',
    repo,
    spec: LIST,
    item: JobBinaryInternalSchema,
    render: renderJobBinaryInternal,
  });

  api.put(
    '/job-binary-internals/:name',
    {
      // One byte over the maximum still reaches the handler, which then answers with the size.
      bodyLimit: maxBytes + 1,
      config: { rawBody: true, tooLargeError: tooBig(maxBytes), idempotent: true },
      schema: { params: NameParams, response: { 202: Envelope } },
    },
    async (request, reply) => {
      const data = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (data.length === 0) {
        throw new ApiError('BAD_JOB_BINARY', 'Job binary internal data must be a string of length greater than zero');
      }
      const { name } = request.params;
      if (!FORMATS.valid_name.test(name)) throw new ApiError('BAD_JOB_BINARY', `${name} is not a valid name`);
      if (data.length > maxBytes) throw tooBig(maxBytes, data.length);
      const row = { id: randomUUID(), tenant_id: tenantOf(request), name, is_public: false, is_protected: false };
      return createOnce(request, reply, deps.store, 202, async (tx) => ({
        job_binary_internal: renderJobBinaryInternal(await tx.jobBinaryInternals.insertWithData(row, data)),
      }));
    },
  );

  api.get(
    '/job-binary-internals/:id',
    { schema: { params: IdParams, response: { 200: Envelope } } },
    async (request) => ({
      job_binary_internal: renderJobBinaryInternal(await getVisible(repo, request.params.id, tenantOf(request))),
    }),
  );

  api.patch(
    '/job-binary-internals/:id',
    { schema: { params: IdParams, body: JbiUpdate, response: { 202: Envelope } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const row = await getVisible(repo, request.params.id, tenant);
      checkModifiable(row, tenant, 'update', KIND, request.body);
      const updated = await repo.update(row.id, request.body);
      if (!updated) throw new ApiError('NOT_FOUND', `JobBinaryInternal id '${row.id}' not found`);
      return reply.status(202).send({ job_binary_internal: renderJobBinaryInternal(updated) });
    },
  );

  registerDeleteRoute(api, {
    path: '/job-binary-internals',
    repo,
    kind: KIND,
    // A job binary pointing at these bytes would break every template that uses it.
    inUse: async (row) =>
      (await deps.store.jobBinaries.referencingInternal(row.id)).length > 0
        ? `${KIND} is referenced and cannot be deleted`
        : undefined,
  });

  api.get(
    '/job-binary-internals/:id/data',
    { schema: { params: IdParams, response: { 200: BinaryData } } },
    async (request, reply) => {
      const row = await getVisible(repo, request.params.id, tenantOf(request));
      const data = await repo.getData(row.id);
      if (!data) throw new ApiError('NOT_FOUND', `JobBinaryInternal id '${row.id}' not found`);
      return reply.type('application/octet-stream').send(data);
    },
  );
}
