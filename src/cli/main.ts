#!/usr/bin/env node
import { CONNECTION_OPTIONS, parse, UsageError } from './args.js';
import { ClientError, OasisClient } from './client.js';
import { cancel } from './commands/cancel.js';
import { type Command, CommandExit, CONNECTION_HELP, connectionOf } from './commands/command.js';
import { remove } from './commands/delete.js';
import { list } from './commands/list.js';
import { logs } from './commands/logs.js';
import { run, RUN_EXIT } from './commands/run.js';
import { show } from './commands/show.js';

const CLIENT_COMMANDS: readonly Command[] = [run, list, show, logs, cancel, remove];

const USAGE = `usage: oasis <command> [options]

service:
  serve     start the Oasis service (configured by OASIS_* environment variables)
  migrate   apply database migrations and exit
  import-sahara <export>
            import Sahara's EDP rows (job binaries, data sources, templates, executions),
            keeping their ids; see docs/migrating-from-sahara.md
  sahara-export-query
            print the SQL that exports them from Sahara's MySQL/MariaDB database

client of a running Oasis (OASIS_URL, OASIS_PROJECT, OASIS_TOKEN or --url, --project, --token):
${CLIENT_COMMANDS.map((c) => `  ${c.name.padEnd(8)}  ${c.summary}`).join('\n')}

  help      show this text; oasis <command> --help shows a command's own`;

/** Exit codes of every command but `run`'s job codes: see docs/cli.md. */
const EXIT = { ok: 0, error: 1, usage: 2 } as const;

async function main(argv: string[]): Promise<number> {
  const [name = 'help', ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (name === 'sahara-export-query') {
    const { SAHARA_EXPORT_SQL } = await import('./sahara-export.js');
    process.stdout.write(SAHARA_EXPORT_SQL);
    return EXIT.ok;
  }
  if (name === 'serve' || name === 'migrate' || name === 'import-sahara') {
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(USAGE);
      return EXIT.ok;
    }
    return service(name, rest);
  }
  const command = CLIENT_COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`oasis: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const help = `usage: oasis ${command.name} ${command.usage}\n\n${CONNECTION_HELP}`;
  try {
    const { options, positionals } = parse(
      rest,
      { ...CONNECTION_OPTIONS, ...command.options },
      command.stopAtPositional,
    );
    if (options.help) {
      console.log(help);
      return EXIT.ok;
    }
    const connection = connectionOf(options, process.env);
    return await command.run({
      client: new OasisClient(connection),
      connection,
      options,
      positionals,
      json: options.json === true,
    });
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`oasis ${command.name}: ${error.message}\n\n${help}`);
      return EXIT.usage;
    }
    if (error instanceof CommandExit) {
      console.error(`oasis ${command.name}: ${error.message}`);
      return error.code;
    }
    if (error instanceof ClientError) {
      console.error(`oasis ${command.name}: ${error.message}`);
      return command === run ? RUN_EXIT.failed : EXIT.error;
    }
    throw error;
  }
}

/** The service commands load the server (and its configuration) only when asked for. */
async function service(name: 'serve' | 'migrate' | 'import-sahara', rest: string[]): Promise<number> {
  const { ConfigError, loadConfig, SECRET_VARIABLES } = await import('../config.js');
  let config;
  try {
    config = loadConfig();
    // Read once: no job or child process inherits them.
    for (const variable of SECRET_VARIABLES) delete process.env[variable];
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return EXIT.usage;
    }
    throw error;
  }
  const { createLogger, migrate, serve } = await import('../main.js');
  const logger = createLogger(config);
  if (name === 'migrate') {
    await migrate(config, logger);
    return EXIT.ok;
  }
  if (name === 'import-sahara') {
    const file = rest.find((argument) => !argument.startsWith('-'));
    if (!file) {
      console.error(`oasis import-sahara: the export file is missing\n\n${USAGE}`);
      return EXIT.usage;
    }
    const { runImport } = await import('./import-command.js');
    return runImport(config, logger, file);
  }
  await serve(config, logger);
  return -1; // keeps running until a signal
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    // Whatever a failed start left open (a pool, a timer) must not keep the process alive.
    process.exit(EXIT.error);
  },
);
