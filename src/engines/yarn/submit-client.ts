import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { bundledSource } from '../processes/executables.js';

/** Hadoop 3 on Java 17 reflects into these JDK packages. */
export const HADOOP_JAVA_OPENS = [
  'java.base/java.lang',
  'java.base/java.lang.reflect',
  'java.base/java.io',
  'java.base/java.net',
  'java.base/java.nio',
  'java.base/java.util',
  'java.base/java.util.concurrent',
  'java.base/java.util.concurrent.atomic',
  'java.base/sun.nio.ch',
  'java.base/sun.security.x509',
  'java.security.jgss/sun.security.krb5',
].map((pkg) => `--add-opens=${pkg}=ALL-UNNAMED`);

const SOURCE_NAME = 'OasisYarnSubmit.java';
const LOG4J =
  'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\n' +
  'log4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n' +
  'log4j.appender.stderr.layout.ConversionPattern=%d{ISO8601} %p %c: %m%n\n';

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell and collects its output. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      shell: false,
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}

/**
 * Compiles the submission launcher against a Hadoop client classpath, once per (source,
 * classpath) pair: the jar is cached under `<dir>/<hash>/` and shared by every submission.
 */
export class LauncherBuilder {
  private readonly builds = new Map<string, Promise<string>>();

  constructor(
    private readonly dir: string,
    private readonly javaBin: (tool: string) => string,
  ) {}

  jarFor(classpath: string): Promise<string> {
    let build = this.builds.get(classpath);
    if (!build) {
      build = this.build(classpath);
      this.builds.set(classpath, build);
      build.catch(() => this.builds.delete(classpath));
    }
    return build;
  }

  private async build(classpath: string): Promise<string> {
    const source = bundledSource(import.meta.url, 'src/engines/yarn', `java/${SOURCE_NAME}`);
    const code = await readFile(source);
    const hash = createHash('sha256').update(code).update('\0').update(classpath).digest('hex').slice(0, 16);
    const home = path.join(this.dir, hash);
    const jar = path.join(home, 'oasis-yarn-submit.jar');
    if (existsSync(jar)) return jar;

    // Unique per build: two engines (or two processes) may build the same jar in the same instant.
    const staging = `${home}.${process.pid}.${randomUUID()}`;
    const classes = path.join(staging, 'classes');
    await mkdir(classes, { recursive: true });
    try {
      await writeFile(path.join(classes, 'log4j.properties'), LOG4J);
      const javac = await run(this.javaBin('javac'), ['-nowarn', '-d', classes, '-cp', classpath, source], {
        timeoutMs: 120_000,
      });
      if (javac.code !== 0)
        throw new Error(`compiling the YARN submission launcher failed: ${javac.stderr.slice(0, 2000)}`);
      const packed = await run(
        this.javaBin('jar'),
        ['cf', path.join(staging, 'oasis-yarn-submit.jar'), '-C', classes, '.'],
        { timeoutMs: 60_000 },
      );
      if (packed.code !== 0)
        throw new Error(`packing the YARN submission launcher failed: ${packed.stderr.slice(0, 2000)}`);
      await mkdir(path.dirname(home), { recursive: true });
      // Another Oasis process may have finished the same build first: either copy is good.
      await rename(staging, home).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      });
      return jar;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}

/** The most telling line of a failed Hadoop client's output: the root cause of its exception. */
export function failureOf(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim());
  const causes = lines.filter((line) => line.startsWith('Caused by: '));
  const thrown = lines.find((line) => line.startsWith('Exception in thread'));
  const chosen = causes.at(-1)?.slice('Caused by: '.length) ?? thrown?.replace(/^Exception in thread "[^"]*" /, '');
  if (chosen) return chosen;
  const errors = lines.filter((line) => / (ERROR|FATAL) /.test(line));
  return errors.at(-1) ?? lines.filter(Boolean).at(-1) ?? 'no output';
}
