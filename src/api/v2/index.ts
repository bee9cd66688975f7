import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import type { AuthContext } from '../auth.js';
import type { Api, AppDeps } from '../context.js';
import { registerClusterRoutesV2 } from './clusters.js';
import { registerDataSourceRoutesV2 } from './data-sources.js';
import type { V2Scope } from './fields.js';
import { registerJobBinaryRoutesV2 } from './job-binaries.js';
import { registerJobTemplateRoutesV2 } from './job-templates.js';
import { registerJobTypeRoutesV2 } from './job-types.js';
import { registerJobRoutesV2 } from './jobs.js';
import { checkMicroversion, nameMicroversion } from './microversion.js';

const V2_MODULES: readonly ((api: Api, deps: AppDeps, scope: V2Scope) => void)[] = [
  registerJobRoutesV2,
  registerJobTemplateRoutesV2,
  registerJobBinaryRoutesV2,
  registerDataSourceRoutesV2,
  registerJobTypeRoutesV2,
  registerClusterRoutesV2,
];

/**
 * Sahara's v2 API over the same store and handlers as v1.1, at `/v2/:project_id/...` and, as
 * Sahara allowed, at `/v2/...` where the caller's credentials name the project. `authenticate`
 * is the hook that authenticates every versioned route; the microversion is checked after it.
 */
export async function registerV2Api(
  app: FastifyInstance,
  deps: AppDeps,
  authenticate: onRequestHookHandler,
): Promise<void> {
  for (const [prefix, withProject] of [
    ['/v2/:project_id', true],
    ['/v2', false],
  ] as const) {
    await app.register(
      async (api) => {
        api.decorateRequest('auth', null as unknown as AuthContext);
        api.addHook('onRequest', nameMicroversion);
        api.addHook('onRequest', authenticate);
        api.addHook('onRequest', checkMicroversion);
        for (const register of V2_MODULES) register(api as unknown as Api, deps, { withProject });
      },
      { prefix },
    );
  }
}
