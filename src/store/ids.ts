/**
 * Ids as Sahara accepts them, shared by every layer: oslo's is_uuid_like, 32 hex digits with or
 * without the dashes, any case.
 */
export const UUID_LIKE =
  /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

export function isUuidLike(value: string): boolean {
  return UUID_LIKE.test(value);
}
