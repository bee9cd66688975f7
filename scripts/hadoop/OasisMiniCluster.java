import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.mapreduce.v2.MiniMRYarnCluster;
import org.apache.hadoop.yarn.conf.YarnConfiguration;

/**
 * A single-host Hadoop cluster for Oasis's tests: a real NameNode and DataNode (MiniDFSCluster)
 * and a real ResourceManager, NodeManager and JobHistoryServer (MiniMRYarnCluster), all in this
 * JVM, on 127.0.0.1, with small memory settings. Containers (MapReduce application masters and
 * tasks) are separate JVMs launched by the NodeManager, exactly as on a real cluster.
 *
 * Usage: OasisMiniCluster <base dir> <namenode port> <resourcemanager web port> <rm rpc port>
 * The client configuration is written to <base dir>/conf/*-site.xml, the JobHistoryServer's
 * web address to <base dir>/jobhistory, and <base dir>/ready (holding the NameNode URL) appears
 * once both services answer. Stops on SIGTERM.
 */
public final class OasisMiniCluster {
  public static void main(String[] args) throws Exception {
    File base = new File(args[0]).getAbsoluteFile();
    int nameNodePort = Integer.parseInt(args[1]);
    int rmWebPort = Integer.parseInt(args[2]);
    int rmPort = Integer.parseInt(args[3]);
    String containerClasspath = String.join(",", System.getProperty("java.class.path").split(File.pathSeparator));

    Configuration conf = new YarnConfiguration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(base, "dfs").getPath());
    conf.set("hadoop.tmp.dir", new File(base, "tmp").getPath());
    conf.setBoolean("dfs.permissions.enabled", false);
    conf.set("dfs.replication", "1");

    MiniDFSCluster dfs = new MiniDFSCluster.Builder(conf)
        .nameNodePort(nameNodePort)
        .numDataNodes(1)
        .format(true)
        .build();
    dfs.waitActive();
    conf.set("fs.defaultFS", "hdfs://127.0.0.1:" + dfs.getNameNodePort());

    String host = "127.0.0.1:";
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_FIXED_PORTS, true);
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_USE_RPC, true);
    conf.set(YarnConfiguration.RM_ADDRESS, host + rmPort);
    conf.set(YarnConfiguration.RM_SCHEDULER_ADDRESS, host + (rmPort - 2));
    conf.set(YarnConfiguration.RM_RESOURCE_TRACKER_ADDRESS, host + (rmPort - 1));
    conf.set(YarnConfiguration.RM_ADMIN_ADDRESS, host + (rmPort + 1));
    conf.set(YarnConfiguration.RM_WEBAPP_ADDRESS, host + rmWebPort);
    conf.set(YarnConfiguration.NM_ADDRESS, "127.0.0.1:0");
    conf.set(YarnConfiguration.NM_WEBAPP_ADDRESS, "127.0.0.1:0");
    conf.set(YarnConfiguration.NM_LOCALIZER_ADDRESS, "127.0.0.1:0");
    conf.set("mapreduce.jobhistory.address", "127.0.0.1:0");
    conf.set("mapreduce.jobhistory.webapp.address", "127.0.0.1:0");
    conf.set("mapreduce.jobhistory.admin.address", "127.0.0.1:0");
    // The MiniMRYarnCluster defaults would bind the shuffle handler to a fixed port on 0.0.0.0.
    conf.setInt("mapreduce.shuffle.port", 0);

    // Small memory: containers are scheduled against 4 GB but only real JVMs use real memory.
    conf.setInt(YarnConfiguration.NM_PMEM_MB, 4096);
    conf.setInt(YarnConfiguration.NM_VCORES, 8);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 128);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, 1024);
    conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
    conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
    conf.setInt("yarn.app.mapreduce.am.resource.mb", 512);
    conf.set("yarn.app.mapreduce.am.command-opts", "-Xmx320m -XX:TieredStopAtLevel=1");
    conf.setInt("mapreduce.map.memory.mb", 256);
    conf.setInt("mapreduce.reduce.memory.mb", 256);
    conf.set("mapreduce.map.java.opts", "-Xmx160m -XX:TieredStopAtLevel=1");
    conf.set("mapreduce.reduce.java.opts", "-Xmx160m -XX:TieredStopAtLevel=1");
    // Tight heartbeats: a small job is mostly waiting for the next allocation round otherwise.
    conf.setInt("yarn.resourcemanager.nodemanagers.heartbeat-interval-ms", 250);
    conf.setInt("yarn.app.mapreduce.am.scheduler.heartbeat.interval-ms", 250);
    // Small jobs run inside their application master's container (still a YARN application with
    // its own AM), which keeps the test suite's JVM count, and its time on 2 cores, down.
    conf.setBoolean("mapreduce.job.ubertask.enable", true);
    // Application masters and tasks run with the jars this JVM runs with (there is no
    // HADOOP_HOME installation to point the default classpath at).
    conf.set(YarnConfiguration.YARN_APPLICATION_CLASSPATH, containerClasspath);
    conf.set("mapreduce.application.classpath", "");
    // Apps that end leave their state for the tests to read; keep more than the default.
    conf.setInt(YarnConfiguration.RM_MAX_COMPLETED_APPLICATIONS, 1000);

    MiniMRYarnCluster yarn = new MiniMRYarnCluster("oasis", 1);
    yarn.init(conf);
    yarn.start();

    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        yarn.stop();
      } finally {
        dfs.shutdown();
      }
    }));

    File confDir = new File(base, "conf");
    confDir.mkdirs();
    // The same full configuration under every site name, as a HADOOP_CONF_DIR: a plain Hadoop
    // client loads mapred-default.xml after core-site.xml, so only mapred-site.xml can keep
    // mapreduce.framework.name=yarn from falling back to the local job runner.
    for (String site : new String[] {"core-site.xml", "hdfs-site.xml", "mapred-site.xml", "yarn-site.xml"}) {
      File written = new File(confDir, site + ".tmp");
      try (OutputStream out = new FileOutputStream(written)) {
        yarn.getConfig().writeXml(out);
      }
      Files.move(written.toPath(), new File(confDir, site).toPath(), StandardCopyOption.REPLACE_EXISTING);
    }
    String jobHistory = "http://" + yarn.getConfig().get("mapreduce.jobhistory.webapp.address").replace("localhost", "127.0.0.1");
    Files.write(new File(base, "jobhistory").toPath(), jobHistory.getBytes(StandardCharsets.UTF_8));
    Files.write(new File(base, "ready").toPath(), conf.get("fs.defaultFS").getBytes(StandardCharsets.UTF_8));
    System.out.println("Oasis test cluster ready: " + conf.get("fs.defaultFS") + " RM http://" + conf.get(YarnConfiguration.RM_WEBAPP_ADDRESS));
    Thread.currentThread().join();
  }
}
