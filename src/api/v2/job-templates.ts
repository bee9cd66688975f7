import { Type } from '@sinclair/typebox';
import { tenantOf, type Api, type AppDeps } from '../context.js';
import type { JobTemplateRecord } from '../../store/types.js';
import { configHints } from '../config-hints.js';
import { JobBinarySchema } from '../job-binaries.js';
import {
  binaryLoader,
  prepareJobTemplate,
  JOB_TEMPLATE_KIND,
  JobCreate,
  JobTemplateSchema,
  JobUpdate,
  renderTemplate,
  templateInUse,
  updateJobTemplate,
} from '../jobs.js';
import { type ListSpec, listResource, sendList } from '../listing.js';
import { registerDeleteRoute } from '../resource-routes.js';
import { AnyObject, ListEnvelope, ListQueryString } from '../schemas.js';
import { getVisible } from '../../store/visibility.js';
import { checkQuery, paramsOf, PROJECT_RENAME, renamedSchema, type V2Scope, withProjectId } from './fields.js';
import { createOnce } from '../idempotency.js';

const BinarySchemaV2 = renamedSchema(JobBinarySchema, PROJECT_RENAME);
/** v1.1's job with `project_id`, also in its mains and libs; interface entries keep `tenant_id`, as in Sahara. */
export const JobTemplateSchemaV2 = Type.Object({
  ...renamedSchema(JobTemplateSchema, PROJECT_RENAME).properties,
  mains: Type.Array(BinarySchemaV2),
  libs: Type.Array(BinarySchemaV2),
});
const Envelope = Type.Object({ job_template: JobTemplateSchemaV2 });

async function renderTemplateV2(row: JobTemplateRecord, load: ReturnType<typeof binaryLoader>) {
  const view = withProjectId(await renderTemplate(row, load));
  return { ...view, mains: view.mains.map(withProjectId), libs: view.libs.map(withProjectId) };
}

const LIST: ListSpec = {
  key: 'job_templates',
  sortFields: ['id', 'name', 'type', 'created_at', 'updated_at'],
  filters: { type: 'exact', name: 'contains' },
  markerMode: 'after',
};

/** v2 job templates: what v1.1 called jobs, the same rows. */
export function registerJobTemplateRoutesV2(api: Api, deps: AppDeps, scope: V2Scope): void {
  const { store } = deps;
  const repo = store.jobTemplates;
  const ProjectOnly = paramsOf(scope, {});
  const Id = paramsOf(scope, { id: Type.String() });
  const respond = async (row: JobTemplateRecord) => ({
    job_template: await renderTemplateV2(row, binaryLoader(store)),
  });

  api.get(
    '/job-templates',
    {
      config: { list: true },
      schema: {
        params: ProjectOnly,
        querystring: ListQueryString,
        response: { 200: ListEnvelope(LIST.key, JobTemplateSchemaV2) },
      },
    },
    async (request, reply) => {
      const body = await listResource(repo, request.query, LIST, tenantOf(request), (row) => row);
      const load = binaryLoader(store);
      body[LIST.key] = await Promise.all(
        (body[LIST.key] as JobTemplateRecord[]).map((row) => renderTemplateV2(row, load)),
      );
      return sendList(reply, body, LIST.key, JobTemplateSchemaV2);
    },
  );

  api.post(
    '/job-templates',
    { config: { idempotent: true }, schema: { params: ProjectOnly, body: JobCreate, response: { 202: Envelope } } },
    async (request, reply) => {
      checkQuery(request);
      const row = await prepareJobTemplate(store, tenantOf(request), request.body);
      return createOnce(request, reply, store, 202, async (tx) => ({
        job_template: await renderTemplateV2(await tx.jobTemplates.insert(row), binaryLoader(tx)),
      }));
    },
  );

  api.get(
    '/job-templates/config-hints/:job_type',
    {
      schema: {
        params: paramsOf(scope, { job_type: Type.String() }),
        response: { 200: Type.Object({ job_config: AnyObject }) },
      },
    },
    async (request) => {
      const hints = configHints(request.params.job_type);
      checkQuery(request);
      return hints;
    },
  );

  api.get('/job-templates/:id', { schema: { params: Id, response: { 200: Envelope } } }, async (request) => {
    const row = await getVisible(repo, request.params.id, tenantOf(request));
    checkQuery(request);
    return respond(row);
  });

  api.patch(
    '/job-templates/:id',
    { schema: { params: Id, body: JobUpdate, response: { 202: Envelope } } },
    async (request, reply) => {
      await getVisible(repo, request.params.id, tenantOf(request));
      checkQuery(request);
      const row = await updateJobTemplate(store, tenantOf(request), request.params.id, request.body);
      return reply.status(202).send(await respond(row));
    },
  );

  registerDeleteRoute(api, {
    path: '/job-templates',
    repo,
    kind: JOB_TEMPLATE_KIND,
    inUse: templateInUse(store),
    params: Id,
    checkRequest: (request) => checkQuery(request),
  });
}
