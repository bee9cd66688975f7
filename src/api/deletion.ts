import type { Api } from '../app.js';
import { tenantOf } from '../app.js';
import { ApiError } from '../errors.js';
import type { Owned } from '../store/types.js';
import { IdParams } from './schemas.js';
import { checkModifiable, getVisible } from './visibility.js';

export interface DeleteRoute<T extends Owned> {
  /** e.g. `/data-sources`; the route is `<path>/:id`. */
  path: string;
  repo: { get(id: string): Promise<T | undefined>; delete(id: string): Promise<boolean> };
  /** The resource's name in messages ("DataSource", "Cluster", ...). */
  kind: string;
  /** Why the row cannot go yet (something still uses it), or undefined when it can. */
  inUse(row: T): Promise<string | undefined>;
}

/**
 * DELETE as Sahara answers it for every resource but executions: the caller must see the row
 * (else 404), own it and find it unprotected, and nothing may still use it (else 400
 * DELETION_FAILED); then 204 with no body.
 */
export function registerDeleteRoute<T extends Owned>(api: Api, route: DeleteRoute<T>): void {
  api.delete(`${route.path}/:id`, { schema: { params: IdParams } }, async (request, reply) => {
    const tenant = tenantOf(request);
    const row = await getVisible(route.repo, request.params.id, tenant);
    checkModifiable(row, tenant, 'delete', route.kind);
    const reason = await route.inUse(row);
    if (reason !== undefined) throw new ApiError('DELETION_FAILED', reason);
    await route.repo.delete(row.id);
    return reply.status(204).send();
  });
}
