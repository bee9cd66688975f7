import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { migrate } from '../main.js';
import { openStore } from '../store/index.js';
import { importSahara } from './import-sahara.js';

/** `oasis import-sahara <export>`: prints what was imported, or every bad row; exits 1 on bad rows. */
export async function runImport(config: Config, logger: Logger, file: string): Promise<number> {
  await migrate(config, logger);
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    timeoutMs: config.databaseTimeoutMs,
    logger,
  });
  try {
    const report = await importSahara(store, file);
    for (const problem of report.invalid) {
      console.error(`line ${problem.line}: ${problem.table} ${problem.id}: ${problem.problem}`);
    }
    if (report.invalid.length > 0) {
      console.error(
        `${report.invalid.length} bad row(s): nothing was imported. Fix them (or remove them from the export) and import again.`,
      );
      return 1;
    }
    for (const id of report.closed) console.log(`execution ${id} had not finished in Sahara: imported as FAILED`);
    console.log(JSON.stringify({ imported: report.imported, already_present: report.alreadyPresent }));
    return 0;
  } finally {
    await store.close();
  }
}
