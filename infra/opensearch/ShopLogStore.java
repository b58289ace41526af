import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.transport.Netty4Plugin;

/**
 * The local log store: one OpenSearch node on 127.0.0.1, run from the Maven Central jars with
 * the Netty4 transport and the common analysers loaded from the classpath (the distribution's
 * plugin descriptors and bootstrap scripts are not needed).
 *
 * <p>Usage: {@code java -cp 'lib/*' ShopLogStore.java <home> <http port> <transport port>}
 */
public final class ShopLogStore {
  /** Node's constructor that takes classpath plugins is protected; this exposes it. */
  static final class LocalNode extends Node {
    LocalNode(Environment environment) {
      super(environment, List.of(Netty4Plugin.class, CommonAnalysisPlugin.class), true);
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: ShopLogStore <home> <http port> <transport port>");
      System.exit(2);
    }
    Path home = Path.of(args[0]).toAbsolutePath();
    Settings settings =
        Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "shop-logs")
            .put("node.name", "local")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            .put("http.type", Netty4Plugin.NETTY_HTTP_TRANSPORT_NAME)
            .put("transport.type", Netty4Plugin.NETTY_TRANSPORT_NAME)
            // A developer's disk filling up must not turn the log indices read-only.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
    Environment environment =
        InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> "local");
    Node node = new LocalNode(environment);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    node.close();
                    node.awaitClose(10, TimeUnit.SECONDS);
                  } catch (Exception e) {
                    e.printStackTrace();
                  } finally {
                    stopped.countDown();
                  }
                }));
    node.start();
    // One node: replicas could never be assigned, and every index would stay yellow. The default
    // is read from the cluster's persistent settings, not the node's, so it is set through the API.
    node.client()
        .admin()
        .cluster()
        .prepareUpdateSettings()
        .setPersistentSettings(Settings.builder().put("cluster.default_number_of_replicas", 0))
        .get();
    System.out.println("ShopLogStore: started on http://127.0.0.1:" + args[1]);
    stopped.await();
  }
}
