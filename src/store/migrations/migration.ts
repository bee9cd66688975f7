import type { Kysely } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/**
 * The handle a migration is given sees no schema: a migration must compile and run as it shipped
 * whatever the schema becomes later, so it never sees today's Database (database.ts). This is
 * Kysely's own advice for migrations.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema of its own time, not today's
export type MigrationDb = Kysely<any>;

/** One step of the schema; see MIGRATIONS in ../migrations.ts for the rules they follow. */
export interface Migration {
  version: number;
  name: string;
  up(db: MigrationDb, dialect: DialectName): Promise<void>;
}
