import { Type } from '@sinclair/typebox';
import { tenantOf, type Api, type AppDeps } from '../context.js';
import { ApiError } from '../../errors.js';
import type { JobExecutionRecord } from '../../store/types.js';
import {
  deleteExecution,
  prepareTemplateExecution,
  ExecuteBody,
  JOB_EXECUTION_KIND,
  JobExecutionSchema,
  renderJobExecution,
  UpdateBody,
} from '../job-executions.js';
import { bodyLimit, LIMITS } from '../limits.js';
import { type ListSpec, listResource, sendList } from '../listing.js';
import { AnyObject, ListEnvelope, ListQueryString, NoContent, Uuid } from '../schemas.js';
import { checkModifiable, getVisible, isVisible } from '../../store/visibility.js';
import { checkQuery, paramsOf, renamedSchema, type V2Scope } from './fields.js';
import { createOnce } from '../idempotency.js';

/** v2's job: a v1.1 job execution with `project_id`, `job_template_id`, no `oozie_job_id`. */
const RENAMES = { tenant_id: 'project_id', job_id: 'job_template_id' } as const;
export const JobListItem = renamedSchema(JobExecutionSchema, RENAMES, ['oozie_job_id']);
/** A single job also carries the engine's bookkeeping in `extra`, as Sahara's v2 did. */
export const JobSchema = Type.Object({ ...JobListItem.properties, extra: AnyObject });

export function renderJobListItem(row: JobExecutionRecord) {
  const { tenant_id, job_id, oozie_job_id: _alias, ...rest } = renderJobExecution(row);
  return { project_id: tenant_id, job_template_id: job_id, ...rest };
}

export function renderJob(row: JobExecutionRecord) {
  return { ...renderJobListItem(row), extra: row.extra };
}

const LIST: ListSpec = {
  key: 'jobs',
  sortFields: ['id', 'job_template', 'cluster', 'status'],
  filters: { status: 'ieq' },
  markerMode: 'at',
};

/** JE_CREATE_V2: v1.1's execute body plus the template's id. */
const CreateBody = Type.Object({ ...ExecuteBody.properties, job_template_id: Uuid }, { additionalProperties: false });
const Envelope = Type.Object({ job: JobSchema });

/**
 * v2 jobs, which v1.1 called job executions: created by `POST /jobs` naming the template,
 * cancelled by `PATCH {"info": {"status": "cancel"}}`. The same store rows as v1.1's.
 */
export function registerJobRoutesV2(api: Api, deps: AppDeps, scope: V2Scope): void {
  const { store } = deps;
  const repo = store.jobExecutions;
  const ProjectOnly = paramsOf(scope, {});
  const Id = paramsOf(scope, { id: Type.String() });
  const respond = (row: JobExecutionRecord) => ({ job: renderJob(row) });

  api.get(
    '/jobs',
    {
      config: { list: true },
      schema: {
        params: ProjectOnly,
        querystring: ListQueryString,
        response: { 200: ListEnvelope('jobs', JobListItem) },
      },
    },
    async (request, reply) =>
      sendList(
        reply,
        await listResource(repo, request.query, LIST, tenantOf(request), renderJobListItem),
        LIST.key,
        JobListItem,
      ),
  );

  api.post(
    '/jobs',
    {
      config: { idempotent: true },
      bodyLimit: bodyLimit(LIMITS.executeBodyBytes, deps.config.bodyLimitBytes),
      schema: { params: ProjectOnly, body: CreateBody, response: { 202: Envelope } },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const { job_template_id: templateId, ...body } = request.body;
      // Sahara looks the cluster up before the template.
      const cluster = await store.clusters.get(body.cluster_id);
      if (!cluster || !isVisible(cluster, tenant))
        throw new ApiError('INVALID_REFERENCE', `Cluster with id '${body.cluster_id}' doesn't exist`);
      const template = await store.jobTemplates.get(templateId);
      if (!template || !isVisible(template, tenant))
        throw new ApiError('INVALID_REFERENCE', `Job with id '${templateId}' doesn't exist`);
      checkQuery(request);
      const row = await prepareTemplateExecution(deps, tenant, template, body);
      await createOnce(request, reply, store, 202, async (tx) => respond(await tx.jobExecutions.insert(row)));
      deps.executions.wake();
      return reply;
    },
  );

  // Existence first: an unknown id with a parameter is 404, a known one 400.
  api.get('/jobs/:id', { schema: { params: Id, response: { 200: Envelope } } }, async (request) => {
    const row = await getVisible(repo, request.params.id, tenantOf(request));
    checkQuery(request);
    return respond(row);
  });

  api.patch(
    '/jobs/:id',
    {
      preValidation: async (request) => {
        await getVisible(repo, (request.params as { id: string }).id, tenantOf(request));
      },
      schema: { params: Id, body: UpdateBody, response: { 202: Envelope } },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const row = await getVisible(repo, request.params.id, tenant);
      checkQuery(request);
      const { info, ...changes } = request.body;
      const action = info?.status;
      // An action is a change like any other: refused to other projects and on protected jobs.
      checkModifiable(row, tenant, 'update', JOB_EXECUTION_KIND, action === undefined ? changes : { ...changes, info });
      if (action === 'suspend') {
        throw new ApiError('INVALID_REFERENCE', `The engine does not support suspend for job ${row.id}`);
      }
      let current = row;
      if (Object.keys(changes).length > 0) {
        const updated = await repo.update(row.id, changes);
        if (!updated) throw new ApiError('NOT_FOUND', `Job id '${row.id}' not found`);
        current = updated;
      }
      if (action === 'cancel') current = (await deps.executions.cancel(current)) ?? current;
      return reply.status(202).send(respond(current));
    },
  );

  api.delete('/jobs/:id', { schema: { params: Id, response: { 204: NoContent } } }, async (request, reply) => {
    await getVisible(repo, request.params.id, tenantOf(request));
    checkQuery(request);
    await deleteExecution(deps, tenantOf(request), request.params.id);
    return reply.status(204).send(null);
  });
}
