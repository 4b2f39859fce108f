package dev.mercuryobridge;

import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.config.ConfigException;
import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.http.RootCause;
import dev.mercuryobridge.report.ReportCommand;

import java.util.concurrent.CountDownLatch;

/** Entry points: {@code serve} (default), {@code migrate}, {@code report}. */
public final class Main {

    private Main() {}

    public static void main(String[] args) throws InterruptedException {
        String command = args.length == 0 ? "serve" : args[0];
        try {
            switch (command) {
                case "serve" -> serve();
                case "migrate" -> migrate();
                case "report" -> System.exit(ReportCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), System.getenv()));
                case "help", "--help", "-h" -> usage(0);
                default -> {
                    System.err.println("unknown command '" + command + "'");
                    usage(2);
                }
            }
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            System.exit(2);
        } catch (RuntimeException e) {
            // Start-up failed after the configuration was read (database unreachable, migration
            // failed, port taken): one clear line, then the details for the operator.
            System.err.println(command + " failed: " + RootCause.message(e));
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void serve() throws InterruptedException {
        Config config = Config.fromEnvironment(System.getenv());
        App app = App.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            app.close();
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
    }

    private static void migrate() {
        try (Database database = Database.fromEnvironment(System.getenv())) {
            database.migrate();
        }
    }

    private static void usage(int status) {
        System.out.println("""
                usage: java -jar mercuryo-bridge.jar [command]
                  serve     run the service (default); applies migrations first unless MIGRATE_ON_START=false
                  migrate   apply pending database migrations and exit
                  report    --from YYYY-MM-DD --to YYYY-MM-DD --format csv|json|html --out FILE [--zone ZONE]
                            write the reconciliation report (needs DATABASE_URL, DATABASE_USER, DATABASE_PASSWORD)
                Configuration comes from environment variables; see README.md.""");
        System.exit(status);
    }
}
