import type { FastifyInstance } from 'fastify';

import { ApiError, errorMessage } from '../errors.js';
import type { Store } from '../store/types.js';

/**
 * Probes for orchestrators and load balancers, outside /v1.1 and open to all (they tell nothing
 * about any project). `/healthz`: the process answers, without touching the database.
 * `/readyz`: the database answers too; otherwise 503 with Sahara's body, whatever went wrong
 * with it (down, frozen past OASIS_DATABASE_TIMEOUT, dropped). Both answer 503 while Oasis shuts
 * down.
 */
export function registerHealthRoutes(app: FastifyInstance, store: Store): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'alive' }));
  app.get('/readyz', { schema: { hide: true } }, async (request) => {
    try {
      await store.ping();
    } catch (error) {
      request.log.warn({ err: errorMessage(error) }, 'not ready: the database does not answer');
      throw new ApiError('SERVICE_UNAVAILABLE', 'Not ready: the database does not answer; retry shortly');
    }
    return { status: 'ready', database: store.dialect };
  });
}
