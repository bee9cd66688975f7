import { type Static, Type } from '@sinclair/typebox';
import { createOnce } from './idempotency.js';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { ApiError } from '../errors.js';
import {
  DATA_SOURCE_TYPES,
  type DataSourceRecord,
  type DataSourceType,
  type NewRow,
  type Store,
} from '../store/types.js';
import { checkDataSource } from './data-source-urls.js';
import { registerDeleteRoute, registerListRoute } from './resource-routes.js';
import type { ListSpec } from './listing.js';
import { renderOwned } from './render.js';
import { AnyObject, IdParams, NullableBoolean, OwnedFields, ProjectParams, ValidName } from './schemas.js';
import { checkModifiable, getVisible, newOwnedRow } from '../store/visibility.js';

const KIND = 'DataSource';

export const DataSourceSchema = Type.Object({
  ...OwnedFields,
  name: Type.String(),
  description: Type.String(),
  type: Type.String(),
  url: Type.String(),
});

/** `credentials` are never rendered. */
export function renderDataSource(row: DataSourceRecord) {
  return renderOwned(row, { name: row.name, description: row.description, type: row.type, url: row.url });
}

const LIST: ListSpec = {
  key: 'data_sources',
  sortFields: ['id', 'name', 'type', 'created_at', 'updated_at'],
  filters: {
    id: 'exact',
    tenant_id: 'exact',
    name: 'contains',
    description: 'contains',
    url: 'contains',
    type: 'exact',
    is_public: 'boolean',
    is_protected: 'boolean',
  },
  markerMode: 'after',
};

const DataSourceFields = {
  name: ValidName,
  description: Type.String(),
  // A plain enum, so that a bad type reads as Sahara's `'ftp' is not one of [...]`.
  type: Type.Unsafe<DataSourceType>({ type: 'string', enum: [...DATA_SOURCE_TYPES] }),
  url: Type.String({ description: 'May hold %JOB_EXEC_ID% and %RANDSTR(n)%, resolved per execution' }),
  credentials: AnyObject,
  is_public: NullableBoolean,
  is_protected: NullableBoolean,
};
export const DataSourceCreate = Type.Object(
  {
    name: DataSourceFields.name,
    type: DataSourceFields.type,
    url: DataSourceFields.url,
    description: Type.Optional(DataSourceFields.description),
    credentials: Type.Optional(DataSourceFields.credentials),
    is_public: Type.Optional(NullableBoolean),
    is_protected: Type.Optional(NullableBoolean),
  },
  { additionalProperties: false },
);
export const DataSourceUpdate = Type.Partial(Type.Object(DataSourceFields), { additionalProperties: false });
const Envelope = Type.Object({ data_source: DataSourceSchema });

/** Data-source names are unique among the data sources the caller can see (docs/compatibility.md#data-source-urls-and-substitution). */
async function checkUniqueName(store: Store, tenantId: string, name: string): Promise<void> {
  if ((await store.dataSources.findByName(tenantId, name)).length > 0) {
    throw new ApiError('NAME_ALREADY_EXISTS', `Data source with name '${name}' already exists`);
  }
}

/** v1.1 data-sources: named inputs and outputs of executions. */
export function registerDataSourceRoutes(api: Api, deps: AppDeps): void {
  const { store } = deps;
  const repo = store.dataSources;

  registerListRoute(api, { path: '/data-sources', repo, spec: LIST, item: DataSourceSchema, render: renderDataSource });

  api.post(
    '/data-sources',
    {
      config: { idempotent: true },
      schema: { params: ProjectParams, body: DataSourceCreate, response: { 202: Envelope } },
    },
    async (request, reply) => {
      const row = await prepareDataSource(store, tenantOf(request), request.body);
      return createOnce(request, reply, store, 202, async (tx) => ({
        data_source: renderDataSource(await tx.dataSources.insert(row)),
      }));
    },
  );

  api.get('/data-sources/:id', { schema: { params: IdParams, response: { 200: Envelope } } }, async (request) => ({
    data_source: renderDataSource(await getVisible(repo, request.params.id, tenantOf(request))),
  }));

  api.put(
    '/data-sources/:id',
    { schema: { params: IdParams, body: DataSourceUpdate, response: { 202: Envelope } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const row = await getVisible(repo, request.params.id, tenant);
      const changes = request.body;
      // An execution waiting to start resolves this data source's URL when it starts.
      if ((await repo.executionsUsing(row.id, ['PENDING'])).length > 0) {
        throw new ApiError('UPDATE_FAILED', 'DataSource is used in a PENDING Job and can not be updated.');
      }
      if (changes.name !== undefined && changes.name !== row.name) await checkUniqueName(store, tenant, changes.name);
      // Sahara re-validates the merged source; empty values fall back to the stored ones.
      checkDataSource({
        type: changes.type || row.type,
        url: changes.url || row.url,
        credentials:
          changes.credentials && Object.keys(changes.credentials).length > 0 ? changes.credentials : row.credentials,
      });
      checkModifiable(row, tenant, 'update', KIND, changes);
      const updated = await repo.update(row.id, changes);
      if (!updated) throw new ApiError('NOT_FOUND', `DataSource id '${row.id}' not found`);
      return reply.status(202).send({ data_source: renderDataSource(updated) });
    },
  );

  registerDeleteRoute(api, { path: '/data-sources', repo, kind: KIND, inUse: dataSourceInUse(store) });
}

/**
 * The row of a new data source, checked: a unique name among those the caller sees, and a valid
 * URL for its type. The route inserts it (createOnce, with the request's idempotency key).
 */
export async function prepareDataSource(
  store: Store,
  tenant: string,
  body: Static<typeof DataSourceCreate>,
): Promise<NewRow<DataSourceRecord>> {
  await checkUniqueName(store, tenant, body.name);
  checkDataSource({ type: body.type, url: body.url, credentials: body.credentials });
  return {
    ...newOwnedRow(tenant, body),
    type: body.type,
    url: body.url,
    credentials: body.credentials ?? {},
  };
}

/** A data source executions still reference cannot be deleted. */
export function dataSourceInUse(store: Store) {
  return async (row: DataSourceRecord): Promise<string | undefined> =>
    (await store.dataSources.executionsUsing(row.id)).length > 0
      ? 'Data Source deletion failed. This data source is being used by job executions.'
      : undefined;
}

export { KIND as DATA_SOURCE_KIND };
