package graphservice.neo4jlocal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.QueryExecutionException;

/**
 * Runs Neo4j Community in this JVM with its Bolt connector on loopback, until the process is stopped.
 *
 * <p>Settings come from the environment:
 * NEO4J_LOCAL_HOME (data directory, default ./neo4j-data), NEO4J_LOCAL_PORT (default 7687),
 * NEO4J_LOCAL_PASSWORD (empty: authentication off; otherwise the password of user "neo4j"),
 * NEO4J_LOCAL_PAGECACHE (default 512m), NEO4J_LOCAL_TX_MEMORY (default 4g).
 */
public final class Launcher {
    private Launcher() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> env = System.getenv();
        Path home = Path.of(env.getOrDefault("NEO4J_LOCAL_HOME", "neo4j-data")).toAbsolutePath();
        int port = Integer.parseInt(env.getOrDefault("NEO4J_LOCAL_PORT", "7687"));
        String password = env.getOrDefault("NEO4J_LOCAL_PASSWORD", "");
        Files.createDirectories(home);

        DatabaseManagementService service = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, !password.isEmpty())
                .setConfig(GraphDatabaseSettings.pagecache_memory,
                        org.neo4j.io.ByteUnit.parse(env.getOrDefault("NEO4J_LOCAL_PAGECACHE", "512m")))
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size,
                        org.neo4j.io.ByteUnit.parse(env.getOrDefault("NEO4J_LOCAL_TX_MEMORY", "4g")))
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ZERO)
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(service::shutdown, "neo4j-shutdown"));

        if (!password.isEmpty()) {
            GraphDatabaseService system = service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
            try {
                system.executeTransactionally(
                        "ALTER USER neo4j SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED",
                        Map.of("password", password));
            } catch (QueryExecutionException error) {
                // A data directory started again with the password it already has: nothing to change.
                if (!String.valueOf(error.getMessage()).contains("cannot be the same")) {
                    throw error;
                }
            }
        }
        service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
        System.out.println("neo4j-local: Neo4j ready, Bolt on bolt://127.0.0.1:" + port + ", data in " + home);
        System.out.flush();
        Thread.currentThread().join();
    }
}
