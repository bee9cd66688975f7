import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import { InvalidJob } from '../../../src/engines/errors.js';
import type { JobSpec } from '../../../src/engines/engine.js';
import { binary, cluster, engineFixture, finalStatus, output, shellJob, type EngineFixture } from './helpers.js';

const GREETER = `
package demo;

public class Greeter {
  public static void main(String[] args) {
    System.out.println("hello " + String.join("|", args) + " from " + System.getProperty("greeting.source"));
    System.out.println(Helper.name());
    if (args.length > 0 && args[0].equals("fail")) System.exit(4);
  }
}
`;
const HELPER = `
package demo;

public class Helper {
  public static String name() { return "helper from the lib"; }
}
`;

/** Compiles two tiny classes with the JDK into two jars: the job's main jar and a lib. */
async function buildJars(dir: string): Promise<{ main: Buffer; lib: Buffer }> {
  const src = path.join(dir, 'src', 'demo');
  await mkdir(src, { recursive: true });
  await writeFile(path.join(src, 'Greeter.java'), GREETER);
  await writeFile(path.join(src, 'Helper.java'), HELPER);
  execFileSync('javac', [
    '-d',
    path.join(dir, 'classes'),
    path.join(src, 'Greeter.java'),
    path.join(src, 'Helper.java'),
  ]);
  const classes = path.join(dir, 'classes');
  execFileSync('jar', ['cf', path.join(dir, 'greeter.jar'), '-C', classes, 'demo/Greeter.class']);
  execFileSync('jar', ['cf', path.join(dir, 'helper.jar'), '-C', classes, 'demo/Helper.class']);
  return {
    main: await readFile(path.join(dir, 'greeter.jar')),
    lib: await readFile(path.join(dir, 'helper.jar')),
  };
}

describe('local engine: Java jobs', () => {
  let jarDir: string;
  let jars: { main: Buffer; lib: Buffer };
  let fx: EngineFixture;
  before(async () => {
    jarDir = await mkdtemp(path.join(tmpdir(), 'oasis-jars-'));
    jars = await buildJars(jarDir);
  });
  after(async () => {
    await rm(jarDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    fx = await engineFixture();
  });
  afterEach(async () => {
    await fx.dispose();
  });

  const javaJob = (configs: JobSpec['configs'], args: string[] = []): JobSpec =>
    shellJob('', {
      jobType: 'Java',
      mains: [],
      libs: [binary('greeter.jar', jars.main), binary('helper.jar', jars.lib)],
      configs,
      args,
    });

  it('runs the main class on a class path of the staged jars, with java_opts and args', async () => {
    const job = javaJob(
      { 'edp.java.main_class': 'demo.Greeter', 'edp.java.java_opts': ' -Xmx64m  -Dgreeting.source=opts ' },
      ['a b', '$(touch /tmp/pwned-by-java)'],
    );
    fx.engine.validate(job, cluster);
    const ref = await fx.submit(job);
    const status = await finalStatus(fx.engine, ref);
    assert.equal(status.status, 'SUCCEEDED', (await output(fx.workDir, job.executionId)).stderr);
    const { stdout } = await output(fx.workDir, job.executionId);
    assert.equal(stdout, 'hello a b|$(touch /tmp/pwned-by-java) from opts\nhelper from the lib\n');
    assert.equal(existsSync('/tmp/pwned-by-java'), false);
  });

  it('reports the exit code of a failing main as DONEWITHERROR', async () => {
    const ref = await fx.submit(javaJob({ 'edp.java.main_class': 'demo.Greeter' }, ['fail']));
    const status = await finalStatus(fx.engine, ref);
    assert.equal(status.status, 'DONEWITHERROR');
    assert.equal(status.returnCode, 4);
  });

  it('ends DONEWITHERROR when the main class does not exist', async () => {
    const job = javaJob({ 'edp.java.main_class': 'demo.Missing' });
    const ref = await fx.submit(job);
    const status = await finalStatus(fx.engine, ref);
    assert.equal(status.status, 'DONEWITHERROR');
    assert.notEqual(status.returnCode, 0);
    assert.match((await output(fx.workDir, job.executionId)).stderr, /demo\.Missing/);
  });

  it('requires a non-empty edp.java.main_class (InvalidJob)', () => {
    const cases: Array<JobSpec['configs']> = [{}, { 'edp.java.main_class': '' }, { 'edp.java.main_class': 3 }];
    for (const configs of cases) {
      assert.throws(
        () => fx.engine.validate(javaJob(configs), cluster),
        (error: unknown) =>
          error instanceof InvalidJob && error.message === 'Java job must specify edp.java.main_class',
      );
    }
  });
});
