import { Type } from '@sinclair/typebox';
import { tenantOf, type Api, type AppDeps } from '../context.js';
import { ApiError } from '../../errors.js';
import type { JobBinaryRecord } from '../../store/types.js';
import {
  prepareJobBinary,
  JobBinaryCreate,
  jobBinaryData,
  jobBinaryInUse,
  JobBinarySchema,
  JobBinaryUpdate,
  renderJobBinary,
  updateJobBinary,
} from '../job-binaries.js';
import { INTERNAL_DB_PREFIX } from '../job-binary-urls.js';
import type { ListSpec } from '../listing.js';
import { registerDeleteRoute, registerListRoute } from '../resource-routes.js';
import { BinaryData } from '../schemas.js';
import { getVisible } from '../../store/visibility.js';
import { checkQuery, paramsOf, PROJECT_RENAME, renamedSchema, type V2Scope, withProjectId } from './fields.js';
import { createOnce } from '../idempotency.js';

const KIND = 'JobBinary';
export const JobBinarySchemaV2 = renamedSchema(JobBinarySchema, PROJECT_RENAME);
const Envelope = Type.Object({ job_binary: JobBinarySchemaV2 });
const render = (row: JobBinaryRecord) => withProjectId(renderJobBinary(row));

const LIST: ListSpec = {
  key: 'binaries',
  sortFields: ['id', 'name', 'created_at', 'updated_at'],
  filters: { name: 'contains' },
  markerMode: 'after',
};

/**
 * v2 has no job-binary-internals to upload into, so it registers no `internal-db://` binary;
 * those registered through v1.1 are listed, shown, changed and deleted like any other.
 */
function refuseInternal(url: string | undefined): void {
  if (url?.startsWith(INTERNAL_DB_PREFIX)) {
    throw new ApiError(
      'BAD_JOB_BINARY',
      `${KIND} urls in the internal database are not supported by v2: upload and register them through v1.1`,
    );
  }
}

/** v2 job binaries: the same rows as v1.1's, updated by PATCH. */
export function registerJobBinaryRoutesV2(api: Api, deps: AppDeps, scope: V2Scope): void {
  const { store } = deps;
  const repo = store.jobBinaries;
  const ProjectOnly = paramsOf(scope, {});
  const Id = paramsOf(scope, { id: Type.String() });

  registerListRoute(api, {
    path: '/job-binaries',
    repo,
    spec: LIST,
    item: JobBinarySchemaV2,
    render,
    params: ProjectOnly,
  });

  api.post(
    '/job-binaries',
    {
      config: { idempotent: true },
      schema: { params: ProjectOnly, body: JobBinaryCreate, response: { 202: Envelope } },
    },
    async (request, reply) => {
      refuseInternal(request.body.url);
      checkQuery(request);
      const row = await prepareJobBinary(store, tenantOf(request), request.body);
      return createOnce(request, reply, store, 202, async (tx) => ({
        job_binary: render(await tx.jobBinaries.insert(row)),
      }));
    },
  );

  api.get('/job-binaries/:id', { schema: { params: Id, response: { 200: Envelope } } }, async (request) => {
    const row = await getVisible(repo, request.params.id, tenantOf(request));
    checkQuery(request);
    return { job_binary: render(row) };
  });

  // As in v1.1's PUT, no existence check comes first: an unknown id is a 400 NOT_FOUND.
  api.patch(
    '/job-binaries/:id',
    { schema: { params: Id, body: JobBinaryUpdate, response: { 202: Envelope } } },
    async (request, reply) => {
      refuseInternal(request.body.url);
      checkQuery(request);
      return reply
        .status(202)
        .send({ job_binary: render(await updateJobBinary(store, tenantOf(request), request.params.id, request.body)) });
    },
  );

  registerDeleteRoute(api, {
    path: '/job-binaries',
    repo,
    kind: KIND,
    inUse: jobBinaryInUse(store),
    params: Id,
    checkRequest: (request) => checkQuery(request),
  });

  api.get(
    '/job-binaries/:id/data',
    { schema: { params: Id, response: { 200: BinaryData } } },
    async (request, reply) => {
      const data = await jobBinaryData(store, tenantOf(request), request.params.id);
      checkQuery(request);
      return reply.type('application/octet-stream').send(data);
    },
  );
}
