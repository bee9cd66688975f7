#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, SECRET_VARIABLES } from '../config.js';
import { createLogger, migrate, serve } from '../main.js';
import { runImport } from './import-command.js';
import { SAHARA_EXPORT_SQL } from './sahara-export.js';

const USAGE = `usage: oasis <command>

commands:
  serve     start the Oasis service (configured by OASIS_* environment variables)
  migrate   apply database migrations and exit
  import-sahara <export>
            import Sahara's EDP rows (job binaries, data sources, templates, executions),
            keeping their ids; see docs/migrating-from-sahara.md
  sahara-export-query
            print the SQL that exports them from Sahara's MySQL/MariaDB database
  help      show this text`;

async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  const command = positionals[0] ?? 'help';
  if (command === 'help' || command === '--help') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'sahara-export-query') {
    process.stdout.write(SAHARA_EXPORT_SQL);
    return 0;
  }
  let config;
  try {
    config = loadConfig();
    for (const name of SECRET_VARIABLES) delete process.env[name];
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const logger = createLogger(config);
  switch (command) {
    case 'serve':
      await serve(config, logger);
      return -1; // keeps running until a signal
    case 'migrate':
      await migrate(config, logger);
      return 0;
    case 'import-sahara':
      if (!positionals[1]) {
        console.error(`import-sahara needs the export file\n\n${USAGE}`);
        return 2;
      }
      return runImport(config, logger, positionals[1]);
    default:
      console.error(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    // Whatever a failed start left open (a pool, a timer) must not keep the process alive.
    process.exit(1);
  },
);
