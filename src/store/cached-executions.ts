import type { Kysely } from 'kysely';

import type { Database } from './database.js';
import { listThroughCache } from './cached-list.js';
import { SOURCE as EXECUTION_LIST } from './repositories/job-executions.js';
import type { RowCache } from './row-cache.js';
import type { JobExecutionRecord, JobExecutionRepository } from './types.js';

/**
 * The executions repository with `get` served through the cache. Every write invalidates what it
 * touched once it has finished, whether it succeeded or not (a failed commit may still have
 * committed): one id, the claimed ids, or everything for the writes whose ids are not known.
 * Lists take their rows from the cache too, except in a transaction, whose reads may see its own
 * uncommitted writes.
 */
export function withRowCache(
  repository: JobExecutionRepository,
  cache: RowCache<JobExecutionRecord>,
  db: Kysely<Database>,
): JobExecutionRepository {
  const touching =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>, ids: (args: A, result?: R) => string[] | 'all') =>
    async (...args: A): Promise<R> => {
      let result: R | undefined;
      try {
        result = await write(...args);
        return result;
      } finally {
        const touched = ids(args, result);
        if (touched === 'all') cache.clear();
        else for (const id of touched) cache.invalidate(id);
      }
    };
  const byId = <A extends [string, ...unknown[]]>(args: A) => [args[0]];
  return {
    ...repository,
    get: (id) => cache.read(id, repository.get),
    list: (query) => (db.isTransaction ? repository.list(query) : listThroughCache(db, EXECUTION_LIST, cache, query)),
    insert: touching(repository.insert, ([row]) => [row.id]),
    update: touching(repository.update, byId),
    updateIf: touching(repository.updateIf, byId),
    delete: touching(repository.delete, byId),
    // The rows a failed claim may have leased are unknown.
    claim: touching(repository.claim, (_args, claimed) => claimed?.map((row) => row.id) ?? 'all'),
    renewLeases: renewingLeases(repository, cache),
  };
}

/**
 * Renewing leases rewrites this node's unfinished executions, every reconciler pass: forgetting
 * every cached row for it emptied the cache every two seconds. A cached row is the row as it is
 * in the database, so the rows renewed are exactly the cached ones that match the renewal's
 * condition; when it renewed none, nothing changed at all. A failed renewal may have renewed
 * anything.
 */
function renewingLeases(
  repository: JobExecutionRepository,
  cache: RowCache<JobExecutionRecord>,
): JobExecutionRepository['renewLeases'] {
  return async (nodeId, leaseMs) => {
    let renewed: number | undefined;
    try {
      renewed = await repository.renewLeases(nodeId, leaseMs);
      return renewed;
    } finally {
      if (renewed === undefined) cache.clear();
      else if (renewed > 0) cache.invalidateWhere((row) => row.lease_owner === nodeId && row.end_time === null);
    }
  };
}
