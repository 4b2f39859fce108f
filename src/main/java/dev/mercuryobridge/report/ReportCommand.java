package dev.mercuryobridge.report;

import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.config.ConfigException;
import dev.mercuryobridge.db.Database;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code report --from YYYY-MM-DD --to YYYY-MM-DD --format csv|json|html --out FILE [--zone ZONE]}:
 * the same report as the admin API, written from the command line with the database settings of
 * the environment (DATABASE_URL, DATABASE_USER, DATABASE_PASSWORD). The file appears whole or
 * not at all: it is written next to its destination and moved into place at the end.
 */
public final class ReportCommand {

    private ReportCommand() {}

    /** Returns the process exit status: 0 written, 2 bad request or configuration, 1 failure. */
    public static int run(String[] args, Map<String, String> env) {
        Map<String, String> opts;
        try {
            opts = options(args);
        } catch (IllegalArgumentException e) {
            System.err.println("report: " + e.getMessage());
            System.err.println("usage: report --from YYYY-MM-DD --to YYYY-MM-DD --format csv|json|html --out FILE [--zone ZONE]");
            return 2;
        }
        ReportRequest request;
        Config.ForCommands settings;
        try {
            settings = Config.forCommands(env);
            request = ReportRequest.parse(opts.get("from"), opts.get("to"), opts.get("format"), opts.get("zone"),
                    settings.reportMaxDays());
        } catch (ReportRequest.InvalidReportRequest | ConfigException e) {
            System.err.println("report: " + e.getMessage());
            return 2;
        }
        Database opened = Database.connect(settings.databaseUrl(), settings.databaseUser(), settings.databasePassword());
        try (Database database = opened) {
            ReconciliationReport report = new ReconciliationReport(database.dsl(), Clock.systemUTC());
            String out = opts.get("out");
            if (out == null || out.equals("-")) {
                report.write(request, System.out);
                System.out.flush();
                return 0;
            }
            Path target = Path.of(out).toAbsolutePath();
            Path parent = target.getParent();
            Files.createDirectories(parent);
            Path partial = Files.createTempFile(parent, ".report-", ".partial");
            try {
                // Readable like any other file written here (a temporary file starts owner-only).
                if (partial.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                    Files.setPosixFilePermissions(partial, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
                }
                try (OutputStream stream = Files.newOutputStream(partial)) {
                    report.write(request, stream);
                }
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(partial);
            }
            System.err.println("report: wrote " + target + " (" + Files.size(target) + " bytes)");
            return 0;
        } catch (IOException | RuntimeException e) {
            System.err.println("report: failed: " + e.getMessage());
            return 1;
        }
    }

    static Map<String, String> options(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("--" + name + " needs a value");
                }
                value = args[++i];
            }
            if (!java.util.Set.of("from", "to", "format", "out", "zone").contains(name)) {
                throw new IllegalArgumentException("unknown option --" + name);
            }
            opts.put(name, value);
        }
        return opts;
    }
}
