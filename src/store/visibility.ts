import { randomUUID } from 'node:crypto';
import { ApiError, type ErrorName, notFound } from '../errors.js';
import type { Owned } from '../store/types.js';

/** Sahara's read rule (docs/compatibility.md#tenants-visibility-and-protection): a tenant sees its own rows and every public row. */
export function isVisible(row: Owned, tenantId: string): boolean {
  return row.tenant_id === tenantId || row.is_public === true;
}

/** Loads a row the caller may see, or answers 404 as Sahara does for unknown and foreign ids. */
export async function getVisible<T extends Owned>(
  repo: { get(id: string): Promise<T | undefined> },
  id: string,
  tenantId: string,
): Promise<T> {
  const row = await repo.get(id);
  if (!row || !isVisible(row, tenantId)) throw notFound(id);
  return row;
}

export type Modification = 'update' | 'delete' | 'cancel';

const FAILURE: Record<Modification, ErrorName> = {
  update: 'UPDATE_FAILED',
  delete: 'DELETION_FAILED',
  cancel: 'CANCELING_FAILED',
};

const VERB: Record<Modification, string> = { update: 'updated', delete: 'deleted', cancel: 'canceled' };

/**
 * Sahara's write rules (docs/compatibility.md#tenants-visibility-and-protection): only the owner may change a row, and a protected row
 * refuses changes unless the request unprotects it or only changes `is_public`.
 * `kind` names the resource in messages ("Job execution", "Data source", ...).
 */
export function checkModifiable(
  row: Owned,
  tenantId: string,
  action: Modification,
  kind: string,
  changes: Record<string, unknown> = {},
): void {
  if (row.tenant_id !== tenantId) {
    throw new ApiError(
      FAILURE[action],
      `${kind} with id '${row.id}' could not be ${VERB[action]} because it wasn't created in this tenant`,
    );
  }
  if (row.is_protected !== true) return;
  if (action === 'update') {
    if (changes.is_protected === false) return;
    const current = row as unknown as Record<string, unknown>;
    const onlyPublicity = Object.entries(changes).every(
      ([key, value]) => key === 'is_public' || JSON.stringify(current[key]) === JSON.stringify(value),
    );
    if (onlyPublicity) return;
  }
  const verb = action === 'cancel' ? 'cannot be canceled' : `could not be ${VERB[action]}`;
  throw new ApiError(FAILURE[action], `${kind} with id '${row.id}' ${verb} because it's marked as protected`);
}

/**
 * What every new resource row starts with: a fresh id, the caller's tenant, the requested flags
 * (an absent flag is false; an explicit null is kept, as Sahara stores and renders it), its name
 * and its description (absent is empty).
 */
export function newOwnedRow(
  tenantId: string,
  body: { name: string; description?: string | null; is_public?: boolean | null; is_protected?: boolean | null },
) {
  return {
    id: randomUUID(),
    tenant_id: tenantId,
    is_public: body.is_public === undefined ? false : body.is_public,
    is_protected: body.is_protected === undefined ? false : body.is_protected,
    name: body.name,
    description: body.description ?? '',
  };
}
