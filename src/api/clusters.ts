import { Type } from '@sinclair/typebox';
import type { Api, AppDeps } from '../app.js';
import { tenantOf } from '../app.js';
import type { ClusterRecord } from '../store/types.js';
import { type ListSpec, listResource } from './listing.js';
import { ownedFields } from './render.js';
import { AnyObject, IdParams, ListEnvelope, ListQueryString, OwnedFields, ProjectParams } from './schemas.js';
import { getVisible } from './visibility.js';

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
  return {
    ...ownedFields(row),
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
  };
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

/**
 * v1.1 clusters, read-only: the places jobs run. The built-in `local` cluster is public, so
 * every project sees it.
 */
export function registerClusterRoutes(api: Api, deps: AppDeps): void {
  const repo = deps.store.clusters;

  api.get(
    '/clusters',
    { schema: { params: ProjectParams, querystring: ListQueryString, response: { 200: ListEnvelope('clusters', ClusterSchema) } } },
    async (request, reply) => reply.send(await listResource(repo, request.query, LIST, tenantOf(request), renderCluster)),
  );

  api.get('/clusters/:id', { schema: { params: IdParams, response: { 200: Envelope } } }, async (request) => ({
    cluster: renderCluster(await getVisible(repo, request.params.id, tenantOf(request))),
  }));
}
