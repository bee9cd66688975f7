import { Type } from '@sinclair/typebox';
import { tenantOf, type Api, type AppDeps } from '../context.js';
import { JobTypesList, listJobTypes } from '../job-types.js';
import { checkQuery, paramsOf, type V2Scope } from './fields.js';

const MultiValued = Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]));
/** Sahara v2 takes these three; only `type` filters (it read the plugin's under other names). */
const JobTypesQuery = Type.Object(
  { type: MultiValued, plugin_name: MultiValued, plugin_version: MultiValued },
  { additionalProperties: true },
);

/** v2 job types: v1.1's list, filtered by type only; `hints` is refused. */
export function registerJobTypeRoutesV2(api: Api, deps: AppDeps, scope: V2Scope): void {
  api.get(
    '/job-types',
    { schema: { params: paramsOf(scope, {}), querystring: JobTypesQuery, response: { 200: JobTypesList } } },
    async (request) => {
      checkQuery(request, ['type', 'plugin_name', 'plugin_version']);
      const type = request.query.type;
      const types = type === undefined ? [] : Array.isArray(type) ? type : [type];
      return listJobTypes(deps, tenantOf(request), { types, plugins: [], versions: [], hints: false });
    },
  );
}
