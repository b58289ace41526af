import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;

/**
 * Local MongoDB-wire store: mongo-java-server with its persistent H2 MVStore backend.
 * Run as a single-file source program: java -cp 'lib/*' ShopMongoServer.java HOST PORT FILE
 */
public class ShopMongoServer {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: ShopMongoServer HOST PORT DATA_FILE");
      System.exit(2);
    }
    MongoServer server = new MongoServer(new H2Backend(args[2]));
    server.bind(args[0], Integer.parseInt(args[1]));
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    Thread.currentThread().join();
  }
}
