import { type Static, Type } from '@sinclair/typebox';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { type ClusterRecord, JOB_TYPES, type JobType } from '../store/types.js';
import { configHints } from './config-hints.js';
import { AnyObject, ProjectParams } from './schemas.js';

/** How each plugin presents itself in the job-types list. */
const PLUGINS: Readonly<Record<string, { title: string; description: string }>> = {
  local: {
    title: 'Local processes',
    description: 'Runs jobs as supervised processes on the Oasis hosts, with their output kept on disk.',
  },
  spark: {
    title: 'Apache Spark',
    description: 'Runs jobs on an Apache Spark standalone cluster through spark-submit.',
  },
  yarn: { title: 'Apache Hadoop YARN', description: 'Runs jobs as applications on an Apache Hadoop YARN cluster.' },
};

const MultiValued = Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]));
/** Every parameter may repeat (`?type=Pig&type=Java`); unknown ones are ignored, as in Sahara. */
const JobTypesQuery = Type.Object(
  { type: MultiValued, plugin: MultiValued, version: MultiValued, hints: MultiValued },
  { additionalProperties: true },
);

const PluginEntry = Type.Object({
  name: Type.String(),
  title: Type.String(),
  description: Type.String(),
  versions: Type.Record(Type.String(), AnyObject),
});
export const JobTypesList = Type.Object({
  job_types: Type.Array(Type.Object({ name: Type.String(), plugins: Type.Array(PluginEntry) })),
});

const values = (raw: string | string[] | undefined): string[] =>
  raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];

/**
 * v1.1 job-types: which job types the caller can run, on which plugin and version, derived from
 * the engines of the clusters the caller can see. Listed in Sahara's order, types no engine
 * supports left out.
 */
export function registerJobTypeRoutes(api: Api, deps: AppDeps): void {
  api.get(
    '/job-types',
    { schema: { params: ProjectParams, querystring: JobTypesQuery, response: { 200: JobTypesList } } },
    async (request) => {
      const query = request.query;
      return listJobTypes(deps, tenantOf(request), {
        types: values(query.type),
        plugins: values(query.plugin),
        versions: values(query.version),
        hints: values(query.hints)[0]?.toLowerCase() === 'true',
      });
    },
  );
}

export interface JobTypesFilter {
  types: readonly string[];
  plugins: readonly string[];
  versions: readonly string[];
  hints: boolean;
}

/** The job-types list for a caller; an empty filter list means no filter. */
export async function listJobTypes(
  deps: AppDeps,
  tenantId: string,
  filter: JobTypesFilter,
): Promise<Static<typeof JobTypesList>> {
  const { types, plugins, versions, hints } = filter;
  // plugin name → version → job types some visible cluster of that plugin and version runs.
  const supported = new Map<string, Map<string, Set<JobType>>>();
  for (const cluster of await visibleClusters(deps, tenantId)) {
    if (plugins.length > 0 && !plugins.includes(cluster.plugin_name)) continue;
    if (versions.length > 0 && !versions.includes(cluster.hadoop_version)) continue;
    const engine = deps.engines.get(cluster.engine);
    if (!engine) continue;
    const byVersion = supported.get(cluster.plugin_name) ?? new Map<string, Set<JobType>>();
    supported.set(cluster.plugin_name, byVersion);
    const set = byVersion.get(cluster.hadoop_version) ?? new Set<JobType>();
    byVersion.set(cluster.hadoop_version, set);
    for (const type of engine.supportedJobTypes(cluster)) set.add(type);
  }

  const jobTypes = [];
  for (const type of JOB_TYPES) {
    if (types.length > 0 && !types.includes(type)) continue;
    const entries = [];
    for (const [plugin, byVersion] of [...supported].sort(([a], [b]) => a.localeCompare(b))) {
      const pluginVersions: Record<string, object> = {};
      for (const [version, set] of byVersion) {
        if (set.has(type)) pluginVersions[version] = hints ? configHints(type) : {};
      }
      if (Object.keys(pluginVersions).length === 0) continue;
      const info = PLUGINS[plugin] ?? { title: plugin, description: '' };
      entries.push({ name: plugin, title: info.title, description: info.description, versions: pluginVersions });
    }
    if (entries.length > 0) jobTypes.push({ name: type, plugins: entries });
  }
  return { job_types: jobTypes };
}

async function visibleClusters(deps: AppDeps, tenantId: string): Promise<ClusterRecord[]> {
  const page = await deps.store.clusters.list({
    tenantId,
    filters: [],
    sort: { field: 'id', descending: false },
    markerMode: 'after',
  });
  return page.items;
}
