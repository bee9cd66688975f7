import { type Static, Type } from '@sinclair/typebox';
import { createOnce } from './idempotency.js';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { ApiError, notFound } from '../errors.js';
import type { ClusterRecord, EngineKind, NewRow } from '../store/types.js';
import { requirePolicy } from './auth.js';
import { registerDeleteRoute, registerListRoute } from './resource-routes.js';
import type { ListSpec } from './listing.js';
import { renderOwned } from './render.js';
import { AnyObject, IdParams, NullableBoolean, OwnedFields, ProjectParams } from './schemas.js';
import { checkModifiable, getVisible, newOwnedRow } from '../store/visibility.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);

/**
 * Every key of Sahara's cluster object, so that clients reading any of them keep working.
 * Oasis does not provision machines: node groups, images, networks and keys stay empty.
 */
export const ClusterSchema = Type.Object({
  ...OwnedFields,
  name: Type.String(),
  description: Type.String(),
  plugin_name: Type.String(),
  hadoop_version: Type.String(),
  status: Type.String(),
  status_description: Type.String(),
  cluster_configs: AnyObject,
  info: AnyObject,
  node_groups: Type.Array(AnyObject),
  anti_affinity: Type.Array(Type.String()),
  provision_progress: Type.Array(AnyObject),
  cluster_template_id: NullableString,
  default_image_id: NullableString,
  neutron_management_network: NullableString,
  user_keypair_id: NullableString,
  management_public_key: NullableString,
  trust_id: NullableString,
  domain_name: NullableString,
  shares: Type.Union([Type.Array(AnyObject), Type.Null()]),
  is_transient: Type.Boolean(),
  use_autoconfig: Type.Boolean(),
});

export function renderCluster(row: ClusterRecord) {
  return renderOwned(row, {
    name: row.name,
    description: row.description,
    plugin_name: row.plugin_name,
    hadoop_version: row.hadoop_version,
    status: row.status,
    status_description: row.status_description,
    cluster_configs: row.cluster_configs,
    info: {},
    node_groups: [],
    anti_affinity: [],
    provision_progress: [],
    cluster_template_id: null,
    default_image_id: null,
    neutron_management_network: null,
    user_keypair_id: null,
    management_public_key: null,
    trust_id: null,
    domain_name: null,
    shares: null,
    is_transient: false,
    use_autoconfig: false,
  });
}

const LIST: ListSpec = {
  key: 'clusters',
  sortFields: ['id', 'name', 'plugin_name', 'hadoop_version', 'status'],
  filters: {
    id: 'exact',
    tenant_id: 'exact',
    name: 'contains',
    description: 'contains',
    plugin_name: 'contains',
    hadoop_version: 'exact',
    status: 'exact',
    is_public: 'boolean',
    is_protected: 'boolean',
  },
  markerMode: 'after',
};

const Envelope = Type.Object({ cluster: ClusterSchema });

/** Sahara's plugin names, and the engine that runs each plugin's clusters. */
const ENGINE_OF_PLUGIN: Readonly<Record<string, EngineKind>> = {
  spark: 'spark',
  vanilla: 'yarn',
};

/**
 * Sahara's cluster-create body. Oasis registers existing clusters rather than provisioning them,
 * so the provisioning fields are accepted (clients send them) and ignored.
 */
export const ClusterName = Type.String({ minLength: 1, maxLength: 80, pattern: '^[a-zA-Z0-9][a-zA-Z0-9\\-_.]*$' });

export const ClusterCreate = Type.Object(
  {
    name: ClusterName,
    plugin_name: Type.String({ minLength: 1 }),
    hadoop_version: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    cluster_configs: Type.Optional(Type.Record(Type.String(), AnyObject)),
    is_public: Type.Optional(NullableBoolean),
    is_protected: Type.Optional(NullableBoolean),
    cluster_template_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    default_image_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    user_keypair_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    neutron_management_network: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    is_transient: Type.Optional(Type.Boolean()),
    use_autoconfig: Type.Optional(Type.Boolean()),
    anti_affinity: Type.Optional(Type.Array(Type.String())),
    node_groups: Type.Optional(Type.Array(AnyObject)),
    shares: Type.Optional(Type.Array(AnyObject)),
  },
  { additionalProperties: false },
);

/**
 * Sahara's cluster-update body (PATCH): the name, the description and the two flags. Connection
 * settings cannot be changed in place: an admin deletes the cluster and registers it again.
 * `shares` (Manila shares) is accepted and ignored, as at registration.
 */
export const ClusterUpdate = Type.Object(
  {
    name: Type.Optional(ClusterName),
    description: Type.Optional(NullableString),
    is_public: Type.Optional(NullableBoolean),
    is_protected: Type.Optional(NullableBoolean),
    shares: Type.Optional(Type.Union([Type.Array(AnyObject), Type.Null()])),
  },
  { additionalProperties: false },
);

const BUILT_IN = 'the built-in local cluster';

/**
 * v1.1 clusters: the places jobs run. The built-in `local` cluster is public, so every project
 * sees it. Spark standalone (`plugin_name: spark`) and Hadoop YARN (`plugin_name: vanilla`)
 * clusters are registered with their connection settings in `cluster_configs.<engine>`; their
 * status says whether the cluster's services answered when last checked.
 *
 * Reading is Sahara's: a project sees its own clusters and the public ones, and may run jobs on
 * them. Registering, changing and deleting need the admin role (src/api/auth.ts, docs/policy.md),
 * because a cluster's settings make Oasis connect to hosts and run programs on its own host.
 */
export function registerClusterRoutes(api: Api, deps: AppDeps): void {
  const repo = deps.store.clusters;

  registerListRoute(api, { path: '/clusters', repo, spec: LIST, item: ClusterSchema, render: renderCluster });

  api.get('/clusters/:id', { schema: { params: IdParams, response: { 200: Envelope } } }, async (request) => ({
    cluster: renderCluster(await getVisible(repo, request.params.id, tenantOf(request))),
  }));

  api.post(
    '/clusters',
    {
      config: { idempotent: true },
      preValidation: requirePolicy('data-processing:clusters:create'),
      schema: { params: ProjectParams, body: ClusterCreate, response: { 202: Envelope } },
    },
    async (request, reply) => {
      const row = await prepareCluster(deps, tenantOf(request), request.body);
      return createOnce(request, reply, deps.store, 202, async (tx) => ({
        cluster: renderCluster(await tx.clusters.insert(row)),
      }));
    },
  );

  api.patch(
    '/clusters/:id',
    {
      preValidation: requirePolicy('data-processing:clusters:modify'),
      schema: { params: IdParams, body: ClusterUpdate, response: { 202: Envelope } },
    },
    async (request, reply) => {
      const updated = await updateCluster(deps, tenantOf(request), request.params.id, request.body);
      return reply.status(202).send({ cluster: renderCluster(updated) });
    },
  );

  // The shared DELETE route, in a scope of its own whose hook applies the delete rule first.
  void api.register(async (scope) => {
    scope.addHook('preValidation', requirePolicy('data-processing:clusters:delete'));
    registerDeleteRoute(scope as unknown as Api, {
      path: '/clusters',
      repo,
      kind: 'Cluster',
      inUse: clusterInUse(deps),
    });
  });
}

/** The row registering an existing cluster of an enabled plugin, after its engine validated and checked it. */
export async function prepareCluster(
  deps: AppDeps,
  tenant: string,
  body: Static<typeof ClusterCreate>,
): Promise<NewRow<ClusterRecord>> {
  const kind = ENGINE_OF_PLUGIN[body.plugin_name];
  const engine = kind ? deps.engines.get(kind) : undefined;
  if (!kind || !engine?.validateCluster) {
    const known = Object.keys(ENGINE_OF_PLUGIN).filter(
      (name) => deps.engines.get(ENGINE_OF_PLUGIN[name]!)?.validateCluster,
    );
    throw new ApiError(
      'INVALID_REFERENCE',
      `Plugin ${body.plugin_name} is not enabled; clusters can be registered with plugin_name ${known.join(' or ') || '(none enabled)'}`,
    );
  }
  const settings = { hadoop_version: body.hadoop_version, cluster_configs: body.cluster_configs ?? {} };
  engine.validateCluster(settings);
  const health = await engine.checkCluster({ name: body.name, ...settings });
  return {
    ...newOwnedRow(tenant, body),
    plugin_name: body.plugin_name,
    hadoop_version: body.hadoop_version,
    engine: kind,
    status: health.status,
    status_description: health.description,
    cluster_configs: settings.cluster_configs,
  };
}

/** Changes a cluster's name, description or flags; the built-in local cluster never changes. */
export async function updateCluster(
  deps: AppDeps,
  tenant: string,
  id: string,
  body: Static<typeof ClusterUpdate>,
): Promise<ClusterRecord> {
  const repo = deps.store.clusters;
  const row = await getVisible(repo, id, tenant);
  const { shares: _ignored, description, ...rest } = body;
  // The description column holds text; Sahara's null description renders as the empty one.
  const changes = description === undefined ? rest : { ...rest, description: description ?? '' };
  checkModifiable(row, tenant, 'update', 'Cluster', changes);
  // Its owner (project `oasis`) could otherwise unprotect it, hide it from every project or rename it.
  if (row.engine === 'local')
    throw new ApiError('UPDATE_FAILED', `Cluster with id '${row.id}' is ${BUILT_IN} and cannot be changed`);
  const updated = await repo.update(row.id, changes);
  if (!updated) throw notFound(row.id);
  return updated;
}

/** The built-in cluster, and a cluster with unfinished executions, cannot be deleted. */
export function clusterInUse(deps: AppDeps) {
  return async (cluster: ClusterRecord): Promise<string | undefined> => {
    if (cluster.engine === 'local') return `Cluster with id '${cluster.id}' is ${BUILT_IN} and cannot be deleted`;
    const running = await deps.store.clusters.activeExecutions(cluster.id);
    return running.length > 0
      ? `Cluster ${cluster.id} still has ${running.length} unfinished job execution(s)`
      : undefined;
  };
}
