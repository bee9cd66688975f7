import { type Static, Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { ApiError } from '../errors.js';
import { prepareExecution, type ExecuteRequest } from '../executions/execute.js';
import { createOnce } from './idempotency.js';
import { sanitizeInfo, sanitizeJobConfigs } from '../executions/sanitize.js';
import type { ConfigValue, JobExecutionRecord, JobTemplateRecord, NewRow, Page } from '../store/types.js';
import { bodyLimit, checkJobConfigsSize, LIMITS } from './limits.js';
import { joinItems, type ListSpec, readList, sendItems } from './listing.js';
import { mapYielding } from '../store/yielding.js';
import { formatTime, renderOwned } from './render.js';
import {
  AnyObject,
  IdParams,
  ListEnvelope,
  ListQueryString,
  NoContent,
  NullableBoolean,
  NullableStringOutput,
  nullableOutput,
  OwnedFields,
  SimpleConfig,
  Uuid,
} from './schemas.js';
import { checkModifiable, getVisible } from '../store/visibility.js';

const KIND = 'Job execution';
const NullableString = NullableStringOutput;

/** The v1.1 job_execution object (docs/compatibility.md#the-job_execution-object): every key always present. */
export const JobExecutionSchema = Type.Object({
  ...OwnedFields,
  job_id: Type.String(),
  cluster_id: Type.String(),
  input_id: NullableString,
  output_id: NullableString,
  start_time: NullableString,
  end_time: NullableString,
  info: AnyObject,
  engine_job_id: NullableString,
  oozie_job_id: nullableOutput<string>('string', { description: 'Legacy alias of engine_job_id' }),
  return_code: NullableString,
  job_configs: AnyObject,
  data_source_urls: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
});

/** The v1.1 rendering: secrets blanked, no `extra`, no lease bookkeeping. */
export function renderJobExecution(row: JobExecutionRecord): Static<typeof JobExecutionSchema> {
  return renderOwned(row, {
    job_id: row.job_id,
    cluster_id: row.cluster_id,
    input_id: row.input_id,
    output_id: row.output_id,
    start_time: formatTime(row.start_time),
    end_time: formatTime(row.end_time),
    info: sanitizeInfo(row.info, row.status),
    engine_job_id: row.engine_job_id,
    oozie_job_id: row.engine_job_id,
    return_code: row.return_code,
    job_configs: sanitizeJobConfigs(row.job_configs),
    data_source_urls: row.data_source_urls,
  });
}

const LIST: ListSpec = {
  key: 'job_executions',
  sortFields: ['id', 'job_template', 'cluster', 'status'],
  filters: {
    id: 'exact',
    tenant_id: 'exact',
    job_id: 'exact',
    input_id: 'exact',
    output_id: 'exact',
    cluster_id: 'exact',
    engine_job_id: 'exact',
    return_code: 'exact',
    start_time: 'exact',
    end_time: 'exact',
    is_public: 'boolean',
    is_protected: 'boolean',
    'cluster.name': 'contains',
    'job.name': 'contains',
    status: 'ieq',
  },
  markerMode: 'at',
};

/** JE_CREATE (docs/compatibility.md#request-schemas). */
export const ExecuteBody = Type.Object(
  {
    cluster_id: Uuid,
    input_id: Type.Optional(Uuid),
    output_id: Type.Optional(Uuid),
    interface: Type.Optional(
      Type.Unsafe<Record<string, ConfigValue>>({ ...SimpleConfig, maxProperties: LIMITS.interfaceArgs }),
    ),
    job_configs: Type.Optional(
      Type.Object(
        {
          configs: Type.Optional(SimpleConfig),
          params: Type.Optional(SimpleConfig),
          args: Type.Optional(Type.Array(Type.String(), { maxItems: LIMITS.args })),
          job_execution_info: Type.Optional(SimpleConfig),
        },
        { additionalProperties: false },
      ),
    ),
    is_public: Type.Optional(NullableBoolean),
    is_protected: Type.Optional(NullableBoolean),
  },
  { additionalProperties: false },
);

/** JE_UPDATE (docs/compatibility.md#request-schemas): `info` only carries an action. */
export const UpdateBody = Type.Object(
  {
    is_public: Type.Optional(NullableBoolean),
    is_protected: Type.Optional(NullableBoolean),
    info: Type.Optional(
      Type.Object(
        { status: Type.Optional(Type.Union([Type.Literal('suspend'), Type.Literal('cancel')])) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Envelope = Type.Object({ job_execution: JobExecutionSchema });

/** v1.1 job executions, and `POST /jobs/:id/execute` which creates them. */
export function registerJobExecutionRoutes(api: Api, deps: AppDeps): void {
  const { store, executions } = deps;
  const repo = store.jobExecutions;
  const respond = (row: JobExecutionRecord) => ({ job_execution: renderJobExecution(row) });
  // Sahara checks that the path id exists before it validates the body (docs/compatibility.md#request-bodies).
  const executionExists = async (request: FastifyRequest) => {
    await getVisible(repo, (request.params as { id: string }).id, tenantOf(request));
  };

  // The store hands out one frozen object per unchanged cached row, so its body and its list item
  // are serialised once; and one frozen page per unchanged list, so that body is built once too.
  // None depends on who asks: the store hands out only rows and pages the asker may see.
  const listItems = new WeakMap<JobExecutionRecord, string>();
  const listBodies = new WeakMap<Page<JobExecutionRecord>, Promise<ListText>>();
  /** The page's body, or its items when the body is too long to be built at once. */
  type ListText = string | string[];
  const listText = async (reply: FastifyReply, page: Page<JobExecutionRecord>, markers: boolean) => {
    const serialize = reply.compileSerializationSchema(JobExecutionSchema) as (value: unknown) => string;
    const items = await mapYielding(page.items, (row) => {
      let item = listItems.get(row);
      if (item === undefined) {
        item = serialize(renderJobExecution(row));
        if (Object.isFrozen(row)) listItems.set(row, item);
      }
      return item;
    });
    return joinItems(LIST.key, items, markers ? page : undefined) ?? items;
  };
  api.get(
    '/job-executions',
    {
      config: { list: true },
      schema: { querystring: ListQueryString, response: { 200: ListEnvelope('job_executions', JobExecutionSchema) } },
    },
    async (request, reply) => {
      const { page, markers } = await readList(repo, request.query, LIST, tenantOf(request));
      // Requests that got the same page while its body is being built wait for that one body.
      let text = listBodies.get(page);
      if (text === undefined) {
        text = listText(reply, page, markers);
        if (Object.isFrozen(page)) listBodies.set(page, text);
      }
      const body = await text;
      if (typeof body !== 'string') return sendItems(reply, LIST.key, body, markers ? page : undefined);
      return reply.type('application/json; charset=utf-8').send(body as never);
    },
  );

  const bodies = new WeakMap<JobExecutionRecord, string>();
  api.get(
    '/job-executions/:id',
    { schema: { params: IdParams, response: { 200: Envelope } } },
    async (request, reply) => {
      const row = await getVisible(repo, request.params.id, tenantOf(request));
      let body = bodies.get(row);
      if (body === undefined) {
        body = reply.serialize(respond(row)) as string;
        if (Object.isFrozen(row)) bodies.set(row, body);
      }
      // A string is sent as it is: the response schema has already shaped it.
      return reply.type('application/json; charset=utf-8').send(body as never);
    },
  );

  // Any tenant that can see the execution may refresh it, as in Sahara.
  api.get(
    '/job-executions/:id/refresh-status',
    { schema: { params: IdParams, response: { 200: Envelope } } },
    async (request) => {
      const row = await getVisible(repo, request.params.id, tenantOf(request));
      return respond(await executions.refresh(row));
    },
  );

  // The answer is the execution as it was before the cancel, as in Sahara.
  api.get(
    '/job-executions/:id/cancel',
    { schema: { params: IdParams, response: { 200: Envelope } } },
    async (request) => {
      const tenant = tenantOf(request);
      const row = await getVisible(repo, request.params.id, tenant);
      checkModifiable(row, tenant, 'cancel', KIND);
      await executions.cancel(row);
      return respond(row);
    },
  );

  api.patch(
    '/job-executions/:id',
    { preValidation: executionExists, schema: { params: IdParams, body: UpdateBody, response: { 202: Envelope } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const row = await getVisible(repo, request.params.id, tenant);
      const { info, ...changes } = request.body;
      if (info !== undefined) {
        if (Object.keys(changes).length > 0) {
          throw new ApiError('INVALID_JOB_STATUS', 'Invalid status parameter: info must be the only key of the update');
        }
        if (info.status === undefined) throw new ApiError('VALIDATION_ERROR', "info: 'status' is a required property");
        checkModifiable(row, tenant, 'update', KIND, { info });
        if (info.status === 'suspend') {
          throw new ApiError('INVALID_REFERENCE', `The engine does not support suspend for job execution ${row.id}`);
        }
        // Sahara's v1.1 silently ignored this; Oasis really cancels.
        const cancelled = await executions.cancel(row);
        return reply.status(202).send(respond(cancelled ?? row));
      }
      checkModifiable(row, tenant, 'update', KIND, changes);
      const updated = await repo.update(row.id, changes);
      if (!updated) throw new ApiError('NOT_FOUND', `Job execution id '${row.id}' not found`);
      return reply.status(202).send(respond(updated));
    },
  );

  // 204 at once; the job is stopped, cleaned up and the row removed in the background.
  api.delete(
    '/job-executions/:id',
    { schema: { params: IdParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await deleteExecution(deps, tenantOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  api.post(
    '/jobs/:id/execute',
    {
      bodyLimit: bodyLimit(LIMITS.executeBodyBytes, deps.config.bodyLimitBytes),
      config: { idempotent: true },
      preValidation: async (request) => {
        await getVisible(store.jobTemplates, (request.params as { id: string }).id, tenantOf(request));
      },
      schema: { params: IdParams, body: ExecuteBody, response: { 202: Envelope } },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const template = await getVisible(store.jobTemplates, request.params.id, tenant);
      const row = await prepareTemplateExecution(deps, tenant, template, request.body);
      await createOnce(request, reply, store, 202, async (tx) => respond(await tx.jobExecutions.insert(row)));
      deps.executions.wake();
      return reply;
    },
  );
}

/**
 * The PENDING execution of a template the caller sees, checked and ready to store; the route
 * stores it (createOnce, with the request's idempotency key) and wakes the launcher.
 */
export async function prepareTemplateExecution(
  deps: AppDeps,
  tenant: string,
  template: JobTemplateRecord,
  body: Static<typeof ExecuteBody>,
): Promise<NewRow<JobExecutionRecord>> {
  checkJobConfigsSize(body.job_configs, body.interface);
  await deps.executions.checkRoomForExecution();
  return prepareExecution(deps.store, deps.engines, tenant, template, body as ExecuteRequest);
}

/** The owner deletes an unprotected execution: it is stopped, cleaned up and removed in the background. */
export async function deleteExecution(deps: AppDeps, tenant: string, id: string): Promise<void> {
  const row = await getVisible(deps.store.jobExecutions, id, tenant);
  checkModifiable(row, tenant, 'delete', KIND);
  await deps.executions.remove(row);
}

export { KIND as JOB_EXECUTION_KIND };
