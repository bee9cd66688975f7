import type { TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { tenantOf, type Api } from './context.js';
import { ApiError } from '../errors.js';
import type { ListQuery, Owned, Page } from '../store/types.js';
import { type ListSpec, listResource, sendList } from './listing.js';
import { IdParams, ListEnvelope, ListQueryString, NoContent, ProjectParams } from './schemas.js';
import { checkModifiable, getVisible } from '../store/visibility.js';

/** The routes most resources share, written once: list and delete. */

export interface ListRoute<T extends Owned> {
  /** e.g. `/data-sources`. */
  path: string;
  repo: { get(id: string): Promise<T | undefined>; list(query: ListQuery): Promise<Page<T>> };
  spec: ListSpec;
  /** The schema of one rendered item. */
  item: TSchema;
  render(row: T): unknown;
  /** The path parameters' schema; by default the project's (`/v1.1/:project_id`). */
  params?: TSchema;
}

/** GET `<path>`: filters, sorting and markers as the resource's ListSpec allows. */
export function registerListRoute<T extends Owned>(api: Api, route: ListRoute<T>): void {
  api.get(
    route.path,
    {
      config: { list: true },
      schema: {
        params: route.params ?? ProjectParams,
        querystring: ListQueryString,
        response: { 200: ListEnvelope(route.spec.key, route.item) },
      },
    },
    async (request, reply) =>
      sendList(
        reply,
        await listResource(route.repo, request.query, route.spec, tenantOf(request), route.render),
        route.spec.key,
        route.item,
      ),
  );
}

export interface DeleteRoute<T extends Owned> {
  /** e.g. `/data-sources`; the route is `<path>/:id`. */
  path: string;
  repo: { get(id: string): Promise<T | undefined>; delete(id: string): Promise<boolean> };
  /** The resource's name in messages ("DataSource", "Cluster", ...). */
  kind: string;
  /** Why the row cannot go yet (something still uses it), or undefined when it can. */
  inUse(row: T): Promise<string | undefined>;
  /** The path parameters' schema; by default the project's and the row's id. */
  params?: TSchema;
  /** Checks the rest of the request (v2: its query parameters) once the row is known to exist. */
  checkRequest?(request: FastifyRequest): void;
}

/**
 * DELETE as Sahara answers it for every resource but executions: the caller must see the row
 * (else 404), own it and find it unprotected, and nothing may still use it (else 400
 * DELETION_FAILED); then 204 with no body.
 */
export function registerDeleteRoute<T extends Owned>(api: Api, route: DeleteRoute<T>): void {
  api.delete(
    `${route.path}/:id`,
    { schema: { params: (route.params ?? IdParams) as typeof IdParams, response: { 204: NoContent } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const row = await getVisible(route.repo, request.params.id, tenant);
      route.checkRequest?.(request);
      checkModifiable(row, tenant, 'delete', route.kind);
      const reason = await route.inUse(row);
      if (reason !== undefined) throw new ApiError('DELETION_FAILED', reason);
      await route.repo.delete(row.id);
      return reply.status(204).send(null);
    },
  );
}
