import { type Static, Type } from '@sinclair/typebox';
import { createOnce } from './idempotency.js';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { ApiError, echo } from '../errors.js';
import type { JobBinaryRecord, NewRow, Store } from '../store/types.js';
import { checkJobBinaryExtra, internalId, jobBinaryKind } from './job-binary-urls.js';
import { registerDeleteRoute, registerListRoute } from './resource-routes.js';
import type { ListSpec } from './listing.js';
import { renderOwned } from './render.js';
import {
  BinaryData,
  IdParams,
  NullableBoolean,
  OwnedFields,
  ProjectParams,
  SimpleConfig,
  ValidName,
} from './schemas.js';
import { checkModifiable, getVisible, isVisible, newOwnedRow } from '../store/visibility.js';

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

const Url = Type.String({
  description: 'internal-db://<id>, swift://, s3://, manila://<share>/<path> or hdfs://host[:port]/path',
});
const JobBinaryFields = {
  name: ValidName,
  description: Type.String(),
  url: Url,
  extra: SimpleConfig,
  is_public: NullableBoolean,
  is_protected: NullableBoolean,
};
export const JobBinaryCreate = Type.Object(
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
export const JobBinaryUpdate = Type.Partial(Type.Object(JobBinaryFields), { additionalProperties: false });
const Envelope = Type.Object({ job_binary: JobBinarySchema });

/** An `internal-db://` URL must name a JBI the caller can see (docs/compatibility.md#job-binary-urls). */
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
    {
      config: { idempotent: true },
      schema: { params: ProjectParams, body: JobBinaryCreate, response: { 202: Envelope } },
    },
    async (request, reply) => {
      const row = await prepareJobBinary(store, tenantOf(request), request.body);
      return createOnce(request, reply, store, 202, async (tx) => ({
        job_binary: renderJobBinary(await tx.jobBinaries.insert(row)),
      }));
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
      const updated = await updateJobBinary(store, tenantOf(request), request.params.id, request.body);
      return reply.status(202).send({ job_binary: renderJobBinary(updated) });
    },
  );

  registerDeleteRoute(api, { path: '/job-binaries', repo, kind: KIND, inUse: jobBinaryInUse(store) });

  api.get(
    '/job-binaries/:id/data',
    { schema: { params: IdParams, response: { 200: BinaryData } } },
    async (request, reply) => {
      const data = await jobBinaryData(store, tenantOf(request), request.params.id);
      return reply.type('application/octet-stream').send(data);
    },
  );
}

/**
 * The row of a new job binary, checked: a URL of a known kind, its credentials, and a visible
 * internal binary. The route inserts it (createOnce, with the request's idempotency key).
 */
export async function prepareJobBinary(
  store: Store,
  tenant: string,
  body: Static<typeof JobBinaryCreate>,
): Promise<NewRow<JobBinaryRecord>> {
  const kind = jobBinaryKind(body.url);
  checkJobBinaryExtra(kind, body.url, body.extra);
  await checkInternalReference(store, body.url, tenant);
  return {
    ...newOwnedRow(tenant, body),
    url: body.url,
    extra: body.extra ?? {},
  };
}

/**
 * Sahara checks no existence before the validators here: an unknown id is a 400 NOT_FOUND.
 * An internal-db URL cannot change, and a binary a PENDING execution will run cannot change.
 */
export async function updateJobBinary(
  store: Store,
  tenant: string,
  id: string,
  changes: Static<typeof JobBinaryUpdate>,
): Promise<JobBinaryRecord> {
  if (changes.url !== undefined) {
    jobBinaryKind(changes.url);
    await checkInternalReference(store, changes.url, tenant);
  }
  const row = await store.jobBinaries.get(id);
  if (!row || !isVisible(row, tenant)) throw new ApiError('LATE_NOT_FOUND', `JobBinary id ${echo(id)} not found`);
  checkModifiable(row, tenant, 'update', KIND, changes);
  if (changes.url !== undefined && changes.url !== row.url && internalId(row.url) !== undefined) {
    throw new ApiError(
      'UPDATE_FAILED',
      `The url for JobBinary Id '${id}' can not be updated because it is an internal-db url.`,
    );
  }
  if (await usedByPendingExecution(store, id)) {
    throw new ApiError('UPDATE_FAILED', `JobBinary Id '${id}' is used in a PENDING job and can not be updated.`);
  }
  const updated = await store.jobBinaries.update(id, changes);
  if (!updated) throw new ApiError('LATE_NOT_FOUND', `JobBinary id ${echo(id)} not found`);
  return updated;
}

/** A binary some template still uses cannot be deleted. */
export function jobBinaryInUse(store: Store) {
  return async (row: JobBinaryRecord): Promise<string | undefined> =>
    (await store.jobBinaries.templatesUsing(row.id)).length > 0
      ? `${KIND} is referenced and cannot be deleted`
      : undefined;
}

/** The bytes of a visible internal-db binary, when the caller may also see its internal binary. */
export async function jobBinaryData(store: Store, tenant: string, id: string): Promise<Buffer> {
  const row = await getVisible(store.jobBinaries, id, tenant);
  const jbiId = internalId(row.url);
  if (jbiId === undefined) {
    throw new ApiError(
      'INVALID_DATA',
      `Oasis stores no data for job binary '${row.id}': its data lives at ${echo(row.url)}`,
    );
  }
  const jbi = await store.jobBinaryInternals.get(jbiId);
  const data = jbi && isVisible(jbi, tenant) ? await store.jobBinaryInternals.getData(jbiId) : undefined;
  if (!data) throw new ApiError('INVALID_REFERENCE', `JobBinaryInternal with id '${jbiId}' doesn't exist`);
  return data;
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
