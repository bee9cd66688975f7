import { Type } from '@sinclair/typebox';
import { createOnce } from './idempotency.js';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { ApiError, echo } from '../errors.js';
import type { JobBinaryRecord, Store } from '../store/types.js';
import { checkJobBinaryExtra, internalId, jobBinaryKind } from './job-binary-urls.js';
import { registerDeleteRoute, registerListRoute } from './resource-routes.js';
import type { ListSpec } from './listing.js';
import { renderOwned } from './render.js';
import { BinaryData, IdParams, NullableBoolean, OwnedFields, ProjectParams, SimpleConfig, ValidName } from './schemas.js';
import { checkModifiable, getVisible, isVisible, newOwnedRow } from './visibility.js';

const KIND = 'JobBinary';

/** A job binary as clients see it, alone or inside a template's mains and libs. */
export const JobBinarySchema = Type.Object({
  ...OwnedFields,
  name: Type.String(),
  description: Type.String(),
  url: Type.String(),
});

/** `extra` holds credentials and is never rendered. */
export function renderJobBinary(row: JobBinaryRecord) {
  return renderOwned(row, { name: row.name, description: row.description, url: row.url });
}

const LIST: ListSpec = {
  key: 'binaries',
  sortFields: ['id', 'name', 'created_at', 'updated_at'],
  filters: {
    id: 'exact',
    tenant_id: 'exact',
    name: 'contains',
    description: 'contains',
    url: 'contains',
    is_public: 'boolean',
    is_protected: 'boolean',
  },
  markerMode: 'after',
  ignoreUnknownMarker: true,
};

const Url = Type.String({ description: 'internal-db://<id>, swift://, s3://, manila://<share>/<path> or hdfs://host[:port]/path' });
const JobBinaryFields = {
  name: ValidName,
  description: Type.String(),
  url: Url,
  extra: SimpleConfig,
  is_public: NullableBoolean,
  is_protected: NullableBoolean,
};
const JobBinaryCreate = Type.Object(
  {
    name: JobBinaryFields.name,
    url: JobBinaryFields.url,
    description: Type.Optional(JobBinaryFields.description),
    extra: Type.Optional(JobBinaryFields.extra),
    is_public: Type.Optional(NullableBoolean),
    is_protected: Type.Optional(NullableBoolean),
  },
  { additionalProperties: false },
);
const JobBinaryUpdate = Type.Partial(Type.Object(JobBinaryFields), { additionalProperties: false });
const Envelope = Type.Object({ job_binary: JobBinarySchema });

/** An `internal-db://` URL must name a JBI the caller can see (reference §7.5). */
async function checkInternalReference(store: Store, url: string, tenantId: string): Promise<void> {
  const id = internalId(url);
  if (id === undefined) return;
  const jbi = await store.jobBinaryInternals.get(id);
  if (!jbi || !isVisible(jbi, tenantId)) {
    throw new ApiError('INVALID_REFERENCE', `JobBinaryInternal with id '${id}' doesn't exist`);
  }
}

/** v1.1 job-binaries: named references to the code a template runs. */
export function registerJobBinaryRoutes(api: Api, deps: AppDeps): void {
  const { store } = deps;
  const repo = store.jobBinaries;

  registerListRoute(api, { path: '/job-binaries', repo, spec: LIST, item: JobBinarySchema, render: renderJobBinary });

  api.post(
    '/job-binaries',
    { config: { idempotent: true }, schema: { params: ProjectParams, body: JobBinaryCreate, response: { 202: Envelope } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const body = request.body;
      const kind = jobBinaryKind(body.url);
      checkJobBinaryExtra(kind, body.url, body.extra);
      await checkInternalReference(store, body.url, tenant);
      const row = {
        ...newOwnedRow(tenant, body),
        name: body.name,
        description: body.description ?? '',
        url: body.url,
        extra: body.extra ?? {},
      };
      return createOnce(request, reply, store, 202, async (tx) => ({ job_binary: renderJobBinary(await tx.jobBinaries.insert(row)) }));
    },
  );

  api.get('/job-binaries/:id', { schema: { params: IdParams, response: { 200: Envelope } } }, async (request) => ({
    job_binary: renderJobBinary(await getVisible(repo, request.params.id, tenantOf(request))),
  }));

  // Sahara checks no existence before the validators here: an unknown id is a 400 NOT_FOUND.
  api.put(
    '/job-binaries/:id',
    { schema: { params: IdParams, body: JobBinaryUpdate, response: { 202: Envelope } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const { id } = request.params;
      const changes = request.body;
      if (changes.url !== undefined) {
        jobBinaryKind(changes.url);
        await checkInternalReference(store, changes.url, tenant);
      }
      const row = await repo.get(id);
      if (!row || !isVisible(row, tenant)) throw new ApiError('LATE_NOT_FOUND', `JobBinary id ${echo(id)} not found`);
      checkModifiable(row, tenant, 'update', KIND, changes);
      if (changes.url !== undefined && changes.url !== row.url && internalId(row.url) !== undefined) {
        throw new ApiError('UPDATE_FAILED', `The url for JobBinary Id '${id}' can not be updated because it is an internal-db url.`);
      }
      if (await usedByPendingExecution(store, id)) {
        throw new ApiError('UPDATE_FAILED', `JobBinary Id '${id}' is used in a PENDING job and can not be updated.`);
      }
      const updated = await repo.update(id, changes);
      if (!updated) throw new ApiError('LATE_NOT_FOUND', `JobBinary id ${echo(id)} not found`);
      return reply.status(202).send({ job_binary: renderJobBinary(updated) });
    },
  );

  registerDeleteRoute(api, {
    path: '/job-binaries',
    repo,
    kind: KIND,
    inUse: async (row) => ((await repo.templatesUsing(row.id)).length > 0 ? `${KIND} is referenced and cannot be deleted` : undefined),
  });

  api.get('/job-binaries/:id/data', { schema: { params: IdParams, response: { 200: BinaryData } } }, async (request, reply) => {
    const tenant = tenantOf(request);
    const row = await getVisible(repo, request.params.id, tenant);
    const jbiId = internalId(row.url);
    if (jbiId === undefined) {
      throw new ApiError('INVALID_DATA', `Oasis stores no data for job binary '${row.id}': its data lives at ${echo(row.url)}`);
    }
    const jbi = await store.jobBinaryInternals.get(jbiId);
    const data = jbi && isVisible(jbi, tenant) ? await store.jobBinaryInternals.getData(jbiId) : undefined;
    if (!data) throw new ApiError('INVALID_REFERENCE', `JobBinaryInternal with id '${jbiId}' doesn't exist`);
    return reply.type('application/octet-stream').send(data);
  });
}

/** Whether a PENDING execution (any tenant) runs a template that uses this binary. */
async function usedByPendingExecution(store: Store, binaryId: string): Promise<boolean> {
  for (const templateId of await store.jobBinaries.templatesUsing(binaryId)) {
    for (const executionId of await store.jobTemplates.executionsOf(templateId)) {
      const execution = await store.jobExecutions.get(executionId);
      if (execution?.status === 'PENDING') return true;
    }
  }
  return false;
}
