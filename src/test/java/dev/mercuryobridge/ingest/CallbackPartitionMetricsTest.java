package dev.mercuryobridge.ingest;

import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.testing.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static org.assertj.core.api.Assertions.assertThat;

class CallbackPartitionMetricsTest {

    @Test
    void counts_only_the_callbacks_that_fell_into_the_default_partition() {
        try (Database database = Database.connect(TestDatabase.freshDatabaseUrl(), "postgres", "postgres")) {
            database.migrate();
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new CallbackPartitionMetrics(database.dsl()).bindTo(registry);
            assertThat(rows(registry)).isZero();

            insertCallback(database.dsl(), Instant.now());   // a prepared monthly partition
            assertThat(rows(registry)).isZero();

            insertCallback(database.dsl(), Instant.parse("2001-01-01T00:00:00Z"));   // no partition for it
            insertCallback(database.dsl(), Instant.parse("2099-01-01T00:00:00Z"));
            assertThat(rows(registry)).isEqualTo(2);
        }
    }

    @Test
    void is_unknown_while_the_database_cannot_be_read() {
        Database database = Database.connect(TestDatabase.freshDatabaseUrl(), "postgres", "postgres");
        database.migrate();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new CallbackPartitionMetrics(database.dsl()).bindTo(registry);
        database.close();
        assertThat(rows(registry)).isNaN();
    }

    private static void insertCallback(DSLContext dsl, Instant receivedAt) {
        dsl.insertInto(CALLBACK)
                .set(CALLBACK.RECEIVED_AT, receivedAt)
                .set(CALLBACK.ROUTE, "transaction")
                .set(CALLBACK.BODY, new byte[] {'{', '}'})
                .set(CALLBACK.BODY_SHA256, new byte[32])
                .set(CALLBACK.SIGNATURE_KEY, "0123456789ab")
                .set(CALLBACK.SIGNATURE_VARIANT, "raw")
                .set(CALLBACK.OUTCOME, "accepted")
                .execute();
    }

    private static double rows(SimpleMeterRegistry registry) {
        return registry.get("callback.default.partition.rows").gauge().value();
    }
}
