import { randomUUID } from 'node:crypto';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { createOnce } from './idempotency.js';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { ApiError, echo } from '../errors.js';
import {
  JOB_TYPES,
  type JobBinaryRecord,
  type JobTemplateRecord,
  type JobType,
  type NewRow,
  type Store,
} from '../store/types.js';
import { configHints } from './config-hints.js';
import { JobBinarySchema, renderJobBinary } from './job-binaries.js';
import { registerDeleteRoute } from './resource-routes.js';
import { LIMITS } from './limits.js';
import { type ListSpec, listResource, sendList } from './listing.js';
import { formatTime, renderOwned } from './render.js';
import {
  AnyObject,
  IdParams,
  ListEnvelope,
  ListQueryString,
  NullableBoolean,
  OwnedFields,
  ProjectParams,
  ValidName,
} from './schemas.js';
import { checkTemplateInterface, checkMainsAndLibs } from './template-rules.js';
import { checkModifiable, getVisible, isVisible, newOwnedRow } from '../store/visibility.js';

/** Sahara's model name for job templates, used in its messages. */
const KIND = 'Job';

const JobTypeEnum = Type.Unsafe<JobType>({ type: 'string', enum: [...JOB_TYPES] });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const InterfaceArgInput = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Nullable(Type.String())),
    mapping_type: Type.Unsafe<'args' | 'configs' | 'params'>({ type: 'string', enum: ['args', 'configs', 'params'] }),
    location: Type.String({ minLength: 1 }),
    value_type: Type.Optional(
      Type.Unsafe<'string' | 'number' | 'data_source'>({ type: 'string', enum: ['string', 'number', 'data_source'] }),
    ),
    required: Type.Boolean(),
    default: Type.Optional(Nullable(Type.String())),
  },
  { additionalProperties: false },
);

const BinaryIds = Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, maxItems: LIMITS.binaries });
export const JobCreate = Type.Object(
  {
    name: ValidName,
    type: JobTypeEnum,
    description: Type.Optional(Type.String()),
    mains: Type.Optional(BinaryIds),
    libs: Type.Optional(BinaryIds),
    /** Accepted for compatibility and ignored, as in Sahara. */
    streaming: Type.Optional(Type.Boolean()),
    // maxItems is checked before uniqueItems, whose cost grows with the square of the count.
    interface: Type.Optional(
      Nullable(Type.Array(InterfaceArgInput, { uniqueItems: true, maxItems: LIMITS.interfaceArgs })),
    ),
    is_public: Type.Optional(NullableBoolean),
    is_protected: Type.Optional(NullableBoolean),
  },
  { additionalProperties: false },
);
export const JobUpdate = Type.Object(
  {
    name: Type.Optional(ValidName),
    description: Type.Optional(Nullable(Type.String())),
    is_public: Type.Optional(NullableBoolean),
    is_protected: Type.Optional(NullableBoolean),
  },
  { additionalProperties: false },
);

const InterfaceArgSchema = Type.Object({
  id: Type.String(),
  job_id: Type.String(),
  tenant_id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  mapping_type: Type.String(),
  location: Type.String(),
  value_type: Type.String(),
  required: Type.Boolean(),
  order: Type.Integer(),
  default: Nullable(Type.String()),
  created_at: Nullable(Type.String()),
  updated_at: Nullable(Type.String()),
});

export const JobTemplateSchema = Type.Object({
  ...OwnedFields,
  name: Type.String(),
  description: Type.String(),
  type: Type.String(),
  mains: Type.Array(JobBinarySchema),
  libs: Type.Array(JobBinarySchema),
  interface: Type.Array(InterfaceArgSchema),
});
const Envelope = Type.Object({ job: JobTemplateSchema });

const LIST: ListSpec = {
  key: 'jobs',
  sortFields: ['id', 'name', 'type', 'created_at', 'updated_at'],
  filters: {
    id: 'exact',
    tenant_id: 'exact',
    name: 'contains',
    description: 'contains',
    type: 'exact',
    is_public: 'boolean',
    is_protected: 'boolean',
  },
  markerMode: 'after',
};

/** Loads job binaries by id, each at most once per response. */
export function binaryLoader(store: Pick<Store, 'jobBinaries'>) {
  const cache = new Map<string, Promise<JobBinaryRecord | undefined>>();
  return async (ids: readonly string[]) => {
    const rows = await Promise.all(
      ids.map((id) => {
        let row = cache.get(id);
        if (!row) cache.set(id, (row = store.jobBinaries.get(id)));
        return row;
      }),
    );
    return rows.filter((row): row is JobBinaryRecord => row !== undefined);
  };
}

/** A template with its binaries in full (without `extra`) and every interface column. */
export async function renderTemplate(row: JobTemplateRecord, load: ReturnType<typeof binaryLoader>) {
  const [mains, libs] = await Promise.all([load(row.mains), load(row.libs)]);
  return renderOwned(row, {
    name: row.name,
    description: row.description,
    type: row.type,
    mains: mains.map(renderJobBinary),
    libs: libs.map(renderJobBinary),
    interface: row.interface.map((arg) => ({
      id: arg.id,
      job_id: row.id,
      tenant_id: row.tenant_id,
      name: arg.name,
      description: arg.description,
      mapping_type: arg.mapping_type,
      location: arg.location,
      value_type: arg.value_type,
      required: arg.required,
      order: arg.order,
      default: arg.default,
      created_at: formatTime(row.created_at),
      updated_at: formatTime(row.updated_at),
    })),
  });
}

/** v1.1 jobs: job templates (what to run), and the config hints of each job type. */
export function registerJobRoutes(api: Api, deps: AppDeps): void {
  const { store } = deps;
  const repo = store.jobTemplates;

  api.get(
    '/jobs',
    {
      config: { list: true },
      schema: {
        params: ProjectParams,
        querystring: ListQueryString,
        response: { 200: ListEnvelope('jobs', JobTemplateSchema) },
      },
    },
    async (request, reply) => {
      const body = await listResource(repo, request.query, LIST, tenantOf(request), (row) => row);
      const load = binaryLoader(store);
      body.jobs = await Promise.all((body.jobs as JobTemplateRecord[]).map((row) => renderTemplate(row, load)));
      return sendList(reply, body, LIST.key, JobTemplateSchema);
    },
  );

  api.post(
    '/jobs',
    { config: { idempotent: true }, schema: { params: ProjectParams, body: JobCreate, response: { 202: Envelope } } },
    async (request, reply) => {
      const row = await prepareJobTemplate(store, tenantOf(request), request.body);
      return createOnce(request, reply, store, 202, async (tx) => ({
        job: await renderTemplate(await tx.jobTemplates.insert(row), binaryLoader(tx)),
      }));
    },
  );

  api.get(
    '/jobs/config-hints/:job_type',
    {
      schema: {
        params: Type.Object({ project_id: Type.String(), job_type: Type.String() }),
        response: { 200: Type.Object({ job_config: AnyObject }) },
      },
    },
    async (request) => configHints(request.params.job_type),
  );

  api.get('/jobs/:id', { schema: { params: IdParams, response: { 200: Envelope } } }, async (request) => ({
    job: await renderTemplate(await getVisible(repo, request.params.id, tenantOf(request)), binaryLoader(store)),
  }));

  api.patch(
    '/jobs/:id',
    { schema: { params: IdParams, body: JobUpdate, response: { 202: Envelope } } },
    async (request, reply) => {
      const updated = await updateJobTemplate(store, tenantOf(request), request.params.id, request.body);
      return reply.status(202).send({ job: await renderTemplate(updated, binaryLoader(store)) });
    },
  );

  registerDeleteRoute(api, { path: '/jobs', repo, kind: KIND, inUse: templateInUse(store) });
}

/**
 * The row of a new job template, checked (docs/compatibility.md#job-types-and-binaries): mains and
 * libs by type, visible binaries, the interface. The route inserts it (createOnce).
 */
export async function prepareJobTemplate(
  store: Store,
  tenant: string,
  body: Static<typeof JobCreate>,
): Promise<NewRow<JobTemplateRecord>> {
  const mains = body.mains ?? [];
  const libs = body.libs ?? [];
  checkMainsAndLibs(body.type, mains, libs);
  for (const id of [...mains, ...libs]) {
    const binary = await store.jobBinaries.get(id);
    if (!binary || !isVisible(binary, tenant))
      throw new ApiError('LATE_NOT_FOUND', `Job binary ${echo(id)} does not exist`);
  }
  const args = await checkTemplateInterface(body.type, body.interface ?? [], async (id) => {
    const source = await store.dataSources.get(id);
    return source !== undefined && isVisible(source, tenant);
  });
  return {
    ...newOwnedRow(tenant, body),
    type: body.type,
    mains,
    libs,
    interface: args.map((arg) => ({ id: randomUUID(), ...arg })),
  };
}

/** Changes a template's name, description or flags, by Sahara's write rules. */
export async function updateJobTemplate(
  store: Store,
  tenant: string,
  id: string,
  body: Static<typeof JobUpdate>,
): Promise<JobTemplateRecord> {
  const repo = store.jobTemplates;
  const row = await getVisible(repo, id, tenant);
  const { description, ...rest } = body;
  checkModifiable(row, tenant, 'update', KIND, body);
  // Descriptions are stored as text; a null from the client clears it.
  const changes = description === undefined ? rest : { ...rest, description: description ?? '' };
  const updated = await repo.update(row.id, changes);
  if (!updated) throw new ApiError('NOT_FOUND', `Job id '${row.id}' not found`);
  return updated;
}

/** A template its executions still use cannot be deleted. */
export function templateInUse(store: Store) {
  return async (row: JobTemplateRecord): Promise<string | undefined> =>
    (await store.jobTemplates.executionsOf(row.id)).length > 0
      ? 'Job deletion failed. This job is being used by job executions.'
      : undefined;
}

export { KIND as JOB_TEMPLATE_KIND };
