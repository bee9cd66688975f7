import { Type } from '@sinclair/typebox';
import { tenantOf, type Api, type AppDeps } from '../context.js';
import type { ClusterRecord } from '../../store/types.js';
import { requirePolicy } from '../auth.js';
import {
  ClusterCreate,
  clusterInUse,
  ClusterSchema,
  ClusterUpdate,
  prepareCluster,
  renderCluster,
  updateCluster,
} from '../clusters.js';
import { type ListSpec, listResource, sendList } from '../listing.js';
import { registerDeleteRoute } from '../resource-routes.js';
import { ListEnvelope, ListQueryString } from '../schemas.js';
import { getVisible } from '../../store/visibility.js';
import { checkQuery, paramsOf, renamedSchema, type V2Scope } from './fields.js';
import { createOnce } from '../idempotency.js';

/** v2 names a cluster's version `plugin_version` (v1.1: `hadoop_version`). */
const RENAMES = { tenant_id: 'project_id', hadoop_version: 'plugin_version' } as const;
export const ClusterSchemaV2 = renamedSchema(ClusterSchema, RENAMES);
const Envelope = Type.Object({ cluster: ClusterSchemaV2 });

function render(row: ClusterRecord) {
  const { tenant_id, hadoop_version, ...rest } = renderCluster(row);
  return { project_id: tenant_id, plugin_version: hadoop_version, ...rest };
}

const CreateBody = Type.Object(renamedSchema(ClusterCreate, { hadoop_version: 'plugin_version' }).properties, {
  additionalProperties: false,
});

/** Sahara v2's cluster list takes these filters, `plugin_version` standing for the stored `hadoop_version`. */
const LIST: ListSpec = {
  key: 'clusters',
  sortFields: ['id', 'name', 'plugin_name', 'hadoop_version', 'status'],
  filters: { name: 'contains', plugin_name: 'contains', hadoop_version: 'exact' },
  markerMode: 'after',
};

function storedQuery(query: Record<string, unknown>): Record<string, unknown> {
  const { plugin_version: version, hadoop_version: _notV2, sort_by: sortBy, ...rest } = query;
  const stored: Record<string, unknown> = { ...rest };
  if (version !== undefined) stored.hadoop_version = version;
  if (typeof sortBy === 'string') stored.sort_by = sortBy.replace(/^(-?)plugin_version$/, '$1hadoop_version');
  return stored;
}

/** v2 clusters: v1.1's registered clusters under v2's names, with the same admin policy. */
export function registerClusterRoutesV2(api: Api, deps: AppDeps, scope: V2Scope): void {
  const repo = deps.store.clusters;
  const ProjectOnly = paramsOf(scope, {});
  const Id = paramsOf(scope, { id: Type.String() });

  api.get(
    '/clusters',
    {
      config: { list: true },
      schema: {
        params: ProjectOnly,
        querystring: ListQueryString,
        response: { 200: ListEnvelope(LIST.key, ClusterSchemaV2) },
      },
    },
    async (request, reply) => {
      checkQuery(request, ['name', 'plugin_name', 'plugin_version']);
      const body = await listResource(repo, storedQuery(request.query), LIST, tenantOf(request), render);
      return sendList(reply, body, LIST.key, ClusterSchemaV2);
    },
  );

  api.get('/clusters/:id', { schema: { params: Id, response: { 200: Envelope } } }, async (request) => {
    const row = await getVisible(repo, request.params.id, tenantOf(request));
    checkQuery(request, ['show_progress']);
    return { cluster: render(row) };
  });

  api.post(
    '/clusters',
    {
      config: { idempotent: true },
      preValidation: requirePolicy('data-processing:clusters:create'),
      schema: { params: ProjectOnly, body: CreateBody, response: { 202: Envelope } },
    },
    async (request, reply) => {
      checkQuery(request);
      const { plugin_version: version, ...body } = request.body as typeof request.body & { plugin_version: string };
      const row = await prepareCluster(deps, tenantOf(request), { ...body, hadoop_version: version } as Parameters<
        typeof prepareCluster
      >[2]);
      return createOnce(request, reply, deps.store, 202, async (tx) => ({
        cluster: render(await tx.clusters.insert(row)),
      }));
    },
  );

  api.patch(
    '/clusters/:id',
    {
      preValidation: requirePolicy('data-processing:clusters:modify'),
      schema: { params: Id, body: ClusterUpdate, response: { 202: Envelope } },
    },
    async (request, reply) => {
      checkQuery(request);
      return reply
        .status(202)
        .send({ cluster: render(await updateCluster(deps, tenantOf(request), request.params.id, request.body)) });
    },
  );

  void api.register(async (guarded) => {
    guarded.addHook('preValidation', requirePolicy('data-processing:clusters:delete'));
    registerDeleteRoute(guarded as unknown as Api, {
      path: '/clusters',
      repo,
      kind: 'Cluster',
      inUse: clusterInUse(deps),
      params: Id,
      checkRequest: (request) => checkQuery(request),
    });
  });
}
