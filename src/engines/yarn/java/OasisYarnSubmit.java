package oasis.yarn;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.NullWritable;
import org.apache.hadoop.io.Writable;
import org.apache.hadoop.mapred.JobClient;
import org.apache.hadoop.mapreduce.InputFormat;
import org.apache.hadoop.mapreduce.InputSplit;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.JobContext;
import org.apache.hadoop.mapreduce.Mapper;
import org.apache.hadoop.mapreduce.RecordReader;
import org.apache.hadoop.mapreduce.TaskAttemptContext;
import org.apache.hadoop.mapreduce.lib.output.NullOutputFormat;
import org.apache.hadoop.streaming.StreamJob;

/**
 * Submits one Oasis job to YARN and exits as soon as the ResourceManager has accepted it,
 * printing {@code OASIS_APPLICATION_ID=<id>}. The job is described by a Hadoop configuration
 * file written by the Oasis YARN engine: every job property, plus {@code oasis.submit.*} keys
 * for what the launcher itself needs (job kind, jars, main class, arguments).
 *
 * Usage: OasisYarnSubmit <job.xml> [<hadoop conf dir>]
 *
 * Kinds: {@code mapreduce} (Job.submit with the first jar as the job jar), {@code streaming}
 * (hadoop-streaming's StreamJob, submitted without waiting) and {@code java} (the user's main
 * class run inside the single map task of a map-only job, as Oozie's java action does).
 */
public final class OasisYarnSubmit {
  static final String MAIN_CLASS = "oasis.java.main-class";
  static final String ARG_COUNT = "oasis.java.arg-count";
  static final String ARG_PREFIX = "oasis.java.arg.";

  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    if (args.length > 1) {
      // A HADOOP_CONF_DIR's client files; added resources outrank every *-default.xml.
      for (String name : new String[] {"core-site.xml", "hdfs-site.xml", "mapred-site.xml", "yarn-site.xml"}) {
        File site = new File(args[1], name);
        if (site.isFile()) conf.addResource(new Path(site.getAbsolutePath()));
      }
    }
    conf.addResource(new Path(new File(args[0]).getAbsolutePath()));

    String kind = conf.get("oasis.submit.kind", "");
    String localDir = conf.get("oasis.submit.local-dir", System.getProperty("java.io.tmpdir"));
    List<String> jars = localJars(conf, conf.getTrimmedStringCollection("oasis.submit.jars"), localDir);
    String jobId;
    switch (kind) {
      case "mapreduce":
        jobId = submitMapReduce(conf, jars);
        break;
      case "streaming":
        jobId = submitStreaming(conf, jars);
        break;
      case "java":
        jobId = submitJava(conf, jars);
        break;
      default:
        throw new IllegalArgumentException("unknown job kind: " + kind);
    }
    System.out.println("OASIS_APPLICATION_ID=" + jobId.replaceFirst("^job_", "application_"));
    System.out.flush();
    // Client threads (IPC, HDFS lease renewal) must not keep the launcher alive.
    System.exit(0);
  }

  private static String submitMapReduce(Configuration conf, List<String> jars) throws Exception {
    Job job = Job.getInstance(conf);
    if (!jars.isEmpty()) {
      job.setJar(jars.get(0));
      addLibJars(job.getConfiguration(), jars.subList(1, jars.size()));
    }
    job.submit();
    return job.getJobID().toString();
  }

  private static String submitStreaming(Configuration conf, List<String> jars) throws Exception {
    addLibJars(conf, jars);
    List<String> argv = new ArrayList<>();
    for (String option : new String[] {"input", "output", "mapper", "reducer"}) {
      String value = conf.get("oasis.streaming." + option);
      if (value != null) {
        argv.add("-" + option);
        argv.add(value);
      }
    }
    SubmittingStreamJob streamJob = new SubmittingStreamJob();
    streamJob.setConf(conf);
    int exit = streamJob.run(argv.toArray(new String[0]));
    if (exit != 0 || streamJob.submittedId == null) {
      throw new IllegalStateException("hadoop-streaming refused the job (exit " + exit + ")");
    }
    return streamJob.submittedId;
  }

  private static String submitJava(Configuration conf, List<String> jars) throws Exception {
    Job job = Job.getInstance(conf);
    job.setJarByClass(OasisYarnSubmit.class);
    addLibJars(job.getConfiguration(), jars);
    job.setInputFormatClass(SingleTaskInputFormat.class);
    job.setMapperClass(JavaMainMapper.class);
    job.setOutputFormatClass(NullOutputFormat.class);
    job.setNumReduceTasks(0);
    job.setMapSpeculativeExecution(false);
    job.submit();
    return job.getJobID().toString();
  }

  private static void addLibJars(Configuration conf, List<String> jars) {
    if (jars.isEmpty()) return;
    List<String> all = new ArrayList<>();
    String existing = conf.get("tmpjars");
    if (existing != null && !existing.isEmpty()) all.add(existing);
    for (String jar : jars) all.add(new File(jar).toURI().toString());
    conf.set("tmpjars", String.join(",", all));
  }

  /** Remote (hdfs://) binaries are copied next to the local ones: job jars must be local files. */
  private static List<String> localJars(Configuration conf, Iterable<String> jars, String localDir) throws Exception {
    List<String> local = new ArrayList<>();
    for (String jar : jars) {
      Path path = new Path(jar);
      String scheme = path.toUri().getScheme();
      if (scheme == null || scheme.equals("file")) {
        local.add(new File(path.toUri().getPath()).getAbsolutePath());
        continue;
      }
      File target = new File(localDir, "remote-" + local.size() + "-" + path.getName());
      FileSystem.get(path.toUri(), conf).copyToLocalFile(false, path, new Path(target.getAbsolutePath()), true);
      local.add(target.getAbsolutePath());
    }
    return local;
  }

  /** hadoop-streaming's job, submitted without staying to monitor it. */
  static final class SubmittingStreamJob extends StreamJob {
    String submittedId;

    @Override
    public int submitAndMonitorJob() throws java.io.IOException {
      jc_ = new JobClient(jobConf_);
      running_ = jc_.submitJob(jobConf_);
      submittedId = running_.getID().toString();
      return 0;
    }
  }

  /** Runs the configured main class with its arguments, inside the job's only map task. */
  public static final class JavaMainMapper extends Mapper<NullWritable, NullWritable, NullWritable, NullWritable> {
    @Override
    public void run(Context context) throws java.io.IOException, InterruptedException {
      Configuration conf = context.getConfiguration();
      String mainClass = conf.get(MAIN_CLASS);
      String[] args = new String[conf.getInt(ARG_COUNT, 0)];
      for (int i = 0; i < args.length; i++) args[i] = conf.get(ARG_PREFIX + i, "");

      // Like Oozie's java action: the job's configuration is a file named by a system property.
      File actionConf = new File("oasis-action-conf.xml").getAbsoluteFile();
      try (OutputStream out = new FileOutputStream(actionConf)) {
        conf.writeXml(out);
      }
      System.setProperty("oozie.action.conf.xml", actionConf.getPath());

      try {
        Class<?> main = Class.forName(mainClass, true, Thread.currentThread().getContextClassLoader());
        Method method = main.getMethod("main", String[].class);
        method.invoke(null, (Object) args);
      } catch (InvocationTargetException e) {
        Throwable cause = e.getCause();
        throw new RuntimeException(mainClass + " failed: " + cause, cause);
      } catch (ReflectiveOperationException e) {
        throw new RuntimeException("cannot run " + mainClass + ": " + e, e);
      }
    }
  }

  /** Exactly one split with one empty record: the map task that runs the Java main class. */
  public static final class SingleTaskInputFormat extends InputFormat<NullWritable, NullWritable> {
    @Override
    public List<InputSplit> getSplits(JobContext context) {
      return Collections.singletonList(new EmptySplit());
    }

    @Override
    public RecordReader<NullWritable, NullWritable> createRecordReader(InputSplit split, TaskAttemptContext context) {
      return new RecordReader<NullWritable, NullWritable>() {
        private boolean read;

        @Override
        public void initialize(InputSplit s, TaskAttemptContext c) {}

        @Override
        public boolean nextKeyValue() {
          if (read) return false;
          read = true;
          return true;
        }

        @Override
        public NullWritable getCurrentKey() {
          return NullWritable.get();
        }

        @Override
        public NullWritable getCurrentValue() {
          return NullWritable.get();
        }

        @Override
        public float getProgress() {
          return read ? 1 : 0;
        }

        @Override
        public void close() {}
      };
    }
  }

  public static final class EmptySplit extends InputSplit implements Writable {
    @Override
    public long getLength() {
      return 0;
    }

    @Override
    public String[] getLocations() {
      return new String[0];
    }

    @Override
    public void write(DataOutput out) {}

    @Override
    public void readFields(DataInput in) {}
  }
}
