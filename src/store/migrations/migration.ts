import type { Kysely } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/** One step of the schema; see MIGRATIONS in ../migrations.ts for the rules they follow. */
export interface Migration {
  version: number;
  name: string;
  up(db: Kysely<any>, dialect: DialectName): Promise<void>;
}
