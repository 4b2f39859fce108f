package dev.mercuryobridge.outbox;

import dev.mercuryobridge.testing.TestKafka;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Outbox ids are handed out before commit, so a transaction can commit rows below rows the relay
 * has already read and sent. Those go out before anything of their key written after them.
 */
class LateRowsTest {
    @RegisterExtension
    final RelayFixture f = new RelayFixture();

    @Test
    void rows_committed_below_rows_already_sent_go_out_before_the_newer_rows_of_their_key() throws Exception {
        try (KafkaConsumer<String, String> consumer = f.consumer();
             Connection slow = DriverManager.getConnection(f.config.databaseUrl(), f.config.databaseUser(),
                     f.config.databasePassword())) {
            // A transaction takes the first outbox id for key "late", and is slow to commit.
            slow.setAutoCommit(false);
            Outbox.append(DSL.using(slow, SQLDialect.POSTGRES), f.message("late", 1));
            List<String> others = f.append("other", 4, 1);

            // While the relay sends its first batch (read before the slow transaction committed),
            // that transaction commits, and the key's next message is written after it.
            AtomicInteger batches = new AtomicInteger();
            OutboxRelay relay = f.relay("a", RelayFixture.settings(2, KafkaClients.ProducerTimeouts.DEFAULT,
                    Duration.ofSeconds(5)), new OutboxRelay.Hooks() {
                @Override
                public void beforeSend(List<Long> rows) {
                    if (batches.incrementAndGet() == 1) {
                        try {
                            slow.commit();
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                        f.dsl().transaction(c -> Outbox.append(c.dsl(), f.message("late", 2)));
                    }
                }
            });

            List<String> published = relay.publishOnce();

            List<String> expected = new ArrayList<>(others);
            expected.add("relay-test/late/1");
            expected.add("relay-test/late/2");
            assertThat(published).containsExactlyInAnyOrderElementsOf(expected);
            assertThat(published.indexOf("relay-test/late/1")).isLessThan(published.indexOf("relay-test/late/2"));
            assertThat(f.unpublished()).isZero();
            var records = TestKafka.readUntil(consumer, r -> KafkaOutageTest.distinctIds(r, "").size() >= 6,
                    Duration.ofSeconds(30));
            assertThat(KafkaOutageTest.firstSequences(records, "late")).containsExactly(1, 2);
        }
    }
}
