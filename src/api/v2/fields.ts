import { type TObject, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.js';
import type { OwnedView } from '../render.js';

/**
 * The v2 edge: Sahara's v2 objects are the v1.1 objects with some fields renamed (`tenant_id` is
 * `project_id`, an execution's `job_id` is `job_template_id`, a cluster's `hadoop_version` is
 * `plugin_version`) and a few dropped. Handlers are the v1.1 ones; only names change here.
 */

/** Whether the routes are mounted at `/v2/:project_id` or at `/v2`. */
export interface V2Scope {
  withProject: boolean;
}

/** The path parameters of a v2 route: the project when the prefix names one, then the route's own. */
export function paramsOf<P extends TProperties>(scope: V2Scope, own: P) {
  return Type.Object(scope.withProject ? { project_id: Type.String(), ...own } : own) as TObject<P>;
}

/** A v1.1 rendering with `tenant_id` renamed `project_id`. */
export function withProjectId<V extends OwnedView>(view: V): Omit<V, 'tenant_id'> & { project_id: string } {
  const { tenant_id, ...rest } = view;
  return { project_id: tenant_id, ...rest };
}

/** A v1.1 object schema with its properties renamed (and some left out), in the same order. */
export function renamedSchema(
  schema: TObject,
  renames: Readonly<Record<string, string>>,
  omit: readonly string[] = [],
): TObject {
  const properties: Record<string, TSchema> = {};
  for (const [key, value] of Object.entries(schema.properties)) {
    if (!omit.includes(key)) properties[renames[key] ?? key] = value;
  }
  return Type.Object(properties);
}

export const PROJECT_RENAME = { tenant_id: 'project_id' } as const;

const PAGING = ['marker', 'limit', 'sort_by'];

/**
 * Sahara v2 answers a query parameter a route does not take with 400 INVALID_PARAMS_ON_REQUEST
 * (paging parameters are always let through). `allowed` are the route's own parameters.
 */
export function checkQuery(request: FastifyRequest, allowed: readonly string[] = []): void {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(query).filter((key) => !allowed.includes(key) && !PAGING.includes(key));
  if (unknown.length > 0) {
    const list = (items: readonly string[]) => `[${items.map((item) => `'${item}'`).join(', ')}]`;
    throw new ApiError(
      'INVALID_PARAMS_ON_REQUEST',
      `The only valid params for ${request.method} ${(request.routeOptions.url ?? '').replace(/^\/v2(\/:project_id)?/, '')} are ${list(allowed)} and ${list(PAGING)}`,
    );
  }
}
