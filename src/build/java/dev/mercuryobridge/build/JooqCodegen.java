package dev.mercuryobridge.build;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.flywaydb.core.Flyway;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.jooq.meta.jaxb.Database;
import org.jooq.meta.jaxb.ForcedType;
import org.jooq.meta.jaxb.Generate;
import org.jooq.meta.jaxb.Generator;
import org.jooq.meta.jaxb.Jdbc;
import org.jooq.meta.jaxb.Logging;
import org.jooq.meta.jaxb.Target;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Build-time tool: generates the jOOQ classes from the real migrations applied by Flyway to a
 * real (embedded) PostgreSQL 17, so the generated types are exactly what production sees.
 * Skips the work when the migrations are unchanged since the last generation.
 */
public final class JooqCodegen {

    public static void main(String[] args) throws Exception {
        Path migrations = Path.of(args[0]);
        Path target = Path.of(args[1]);
        String packageName = args[2];

        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
                .setLevel(ch.qos.logback.classic.Level.WARN);
        String fingerprint = fingerprint(migrations);
        Path stamp = target.resolve(".migrations.sha256");
        if (Files.exists(stamp) && Files.readString(stamp).equals(fingerprint)) {
            System.out.println("[jooq] migrations unchanged, generated sources are current");
            return;
        }

        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
            String url = pg.getJdbcUrl("postgres", "postgres");
            Flyway.configure()
                    .dataSource(url, "postgres", "postgres")
                    .locations("filesystem:" + migrations.toAbsolutePath())
                    .load()
                    .migrate();

            GenerationTool.generate(new Configuration()
                    .withLogging(Logging.WARN)
                    .withJdbc(new Jdbc().withDriver("org.postgresql.Driver")
                            .withUrl(url).withUser("postgres").withPassword("postgres"))
                    .withGenerator(new Generator()
                            .withDatabase(new Database()
                                    .withName("org.jooq.meta.postgres.PostgresDatabase")
                                    .withInputSchema("public")
                                    .withExcludes("flyway_schema_history|.*_p\\d{6}|.*_default")
                                    .withForcedTypes(new ForcedType()
                                            .withName("INSTANT")
                                            .withIncludeTypes("(?i:timestamptz|timestamp\\ with\\ time\\ zone)")))
                            .withGenerate(new Generate()
                                    .withRecords(true)
                                    .withPojos(false)
                                    .withJavaTimeTypes(true)
                                    .withGeneratedAnnotation(false))
                            .withTarget(new Target()
                                    .withPackageName(packageName)
                                    .withDirectory(target.toAbsolutePath().toString()))));
        }
        Files.createDirectories(target);
        Files.writeString(stamp, fingerprint);
    }

    private static String fingerprint(Path migrations) throws IOException {
        try (Stream<Path> files = Files.list(migrations)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            // Bump when the generator settings below change, so the sources are regenerated.
            sha.update("settings-v2".getBytes(StandardCharsets.UTF_8));
            List<Path> sorted = files.filter(p -> p.toString().endsWith(".sql")).sorted().toList();
            for (Path p : sorted) {
                sha.update(p.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                sha.update(Files.readAllBytes(p));
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
