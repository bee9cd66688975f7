import { Type } from '@sinclair/typebox';
import { tenantOf, type Api, type AppDeps } from '../context.js';
import { ApiError } from '../../errors.js';
import type { DataSourceRecord } from '../../store/types.js';
import {
  prepareDataSource,
  DATA_SOURCE_KIND,
  DataSourceCreate,
  dataSourceInUse,
  DataSourceSchema,
  DataSourceUpdate,
  renderDataSource,
} from '../data-sources.js';
import { checkPlaceholders } from '../data-source-urls.js';
import type { ListSpec } from '../listing.js';
import { registerDeleteRoute, registerListRoute } from '../resource-routes.js';
import { checkModifiable, getVisible } from '../../store/visibility.js';
import { checkQuery, paramsOf, PROJECT_RENAME, renamedSchema, type V2Scope, withProjectId } from './fields.js';
import { createOnce } from '../idempotency.js';

export const DataSourceSchemaV2 = renamedSchema(DataSourceSchema, PROJECT_RENAME);
const Envelope = Type.Object({ data_source: DataSourceSchemaV2 });
const render = (row: DataSourceRecord) => withProjectId(renderDataSource(row));

const LIST: ListSpec = {
  key: 'data_sources',
  sortFields: ['id', 'name', 'type', 'created_at', 'updated_at'],
  filters: { type: 'exact' },
  markerMode: 'after',
};

/** v2 data sources: the same rows as v1.1's, updated by PATCH. */
export function registerDataSourceRoutesV2(api: Api, deps: AppDeps, scope: V2Scope): void {
  const { store } = deps;
  const repo = store.dataSources;
  const ProjectOnly = paramsOf(scope, {});
  const Id = paramsOf(scope, { id: Type.String() });

  registerListRoute(api, {
    path: '/data-sources',
    repo,
    spec: LIST,
    item: DataSourceSchemaV2,
    render,
    params: ProjectOnly,
  });

  api.post(
    '/data-sources',
    {
      config: { idempotent: true },
      schema: { params: ProjectOnly, body: DataSourceCreate, response: { 202: Envelope } },
    },
    async (request, reply) => {
      checkQuery(request);
      const row = await prepareDataSource(store, tenantOf(request), request.body);
      return createOnce(request, reply, store, 202, async (tx) => ({
        data_source: render(await tx.dataSources.insert(row)),
      }));
    },
  );

  api.get('/data-sources/:id', { schema: { params: Id, response: { 200: Envelope } } }, async (request) => {
    const row = await getVisible(repo, request.params.id, tenantOf(request));
    checkQuery(request);
    return { data_source: render(row) };
  });

  // Sahara's v2 update checks the schema and the write rules only: none of v1.1's checks of the
  // name, the URL's shape or the executions waiting to use it. The placeholders stay bounded:
  // each execution resolves them, and %RANDSTR(n)% would make n random letters.
  api.patch(
    '/data-sources/:id',
    { schema: { params: Id, body: DataSourceUpdate, response: { 202: Envelope } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const row = await getVisible(repo, request.params.id, tenant);
      checkQuery(request);
      if (request.body.url !== undefined) checkPlaceholders(request.body.url);
      checkModifiable(row, tenant, 'update', DATA_SOURCE_KIND, request.body);
      const updated = await repo.update(row.id, request.body);
      if (!updated) throw new ApiError('NOT_FOUND', `DataSource id '${row.id}' not found`);
      return reply.status(202).send({ data_source: render(updated) });
    },
  );

  registerDeleteRoute(api, {
    path: '/data-sources',
    repo,
    kind: DATA_SOURCE_KIND,
    inUse: dataSourceInUse(store),
    params: Id,
    checkRequest: (request) => checkQuery(request),
  });
}
