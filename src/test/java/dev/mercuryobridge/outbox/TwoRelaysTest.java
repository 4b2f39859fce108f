package dev.mercuryobridge.outbox;

import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestDatabase;
import dev.mercuryobridge.testing.TestKafka;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/** Two service instances on one database: one relay publishes, order holds, the other takes over. */
class TwoRelaysTest {
    private static final String[] STATUSES = {"new", "pending", "order_scheduled", "paid"};

    @Test
    void two_instances_publish_each_transaction_in_order_and_the_standby_takes_over() throws Exception {
        String url = TestDatabase.freshDatabaseUrl();
        Map<String, String> kafka = TestApp.kafkaEnv(TestKafka.shared().bootstrapServers());
        TestApp a = TestApp.startOn(url, kafka);
        TestApp b = TestApp.startOn(url, kafka);
        try (KafkaConsumer<String, String> consumer = TestKafka.shared().consumer(a.transactionsTopic())) {
            // Callbacks land on both instances alternately, as behind a load balancer.
            for (int step = 0; step < STATUSES.length; step++) {
                for (int t = 0; t < 10; t++) {
                    TestApp target = (t + step) % 2 == 0 ? a : b;
                    assertThat(target.postCallback(TRANSACTION_PATH, transaction("two" + t, "buy", STATUSES[step], 100 + step))
                            .statusCode()).isEqualTo(200);
                }
            }
            var records = TestKafka.readUntil(consumer, r -> KafkaOutageTest.distinctIds(r, "two").size() >= 40, Duration.ofSeconds(60));
            assertThat(KafkaOutageTest.distinctIds(records, "two")).hasSize(40);
            for (int t = 0; t < 10; t++) {
                assertThat(KafkaOutageTest.firstSequences(records, "two" + t)).containsExactly(1, 2, 3, 4);
            }
            boolean aLeads = a.app().relay().status().leader();
            assertThat(aLeads).isNotEqualTo(b.app().relay().status().leader());

            // The publishing instance stops; the other one takes over and publishes what comes next.
            TestApp leader = aLeads ? a : b;
            TestApp standby = aLeads ? b : a;
            leader.close();
            standby.postCallback(TRANSACTION_PATH, transaction("after-failover", "buy", "new", 1));
            var more = TestKafka.readUntil(consumer, r -> r.stream().anyMatch(x -> "after-failover".equals(x.key())),
                    Duration.ofSeconds(30));
            assertThat(more).anyMatch(x -> "after-failover".equals(x.key()));
            assertThat(standby.app().relay().status().leader()).isTrue();
        } finally {
            a.close();
            b.close();
        }
    }
}
