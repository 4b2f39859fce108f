package dev.mercuryobridge.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The unauthenticated readiness probe names what is down, never where it is or why in detail. */
class ReadinessRevealsNothingTest {

    @Test
    void with_the_database_down_readiness_names_it_without_its_url_credentials_or_exception_text() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        String url = "jdbc:postgresql://127.0.0.1:" + closedPort + "/ledger_secret_db?password=pw-in-the-url";
        try (TestApp app = TestApp.startOn(url, Map.of(
                "MIGRATE_ON_START", "false",
                "DATABASE_USER", "ledger_user",
                "DATABASE_PASSWORD", "db-password-s3cr3t",
                "DATABASE_CONNECT_TIMEOUT", "PT0.5S"))) {

            var ready = app.admin("GET", "/health/ready", null);

            assertThat(ready.statusCode()).isEqualTo(503);
            JsonNode body = Json.MAPPER.readTree(ready.body());
            assertThat(body.at("/checks/database/status").asText()).isEqualTo("down");
            assertThat(body.at("/checks/migrations/status").asText()).isEqualTo("down");
            assertThat(ready.body())
                    .doesNotContain("jdbc").doesNotContain("127.0.0.1").doesNotContain(String.valueOf(closedPort))
                    .doesNotContain("ledger_secret_db").doesNotContain("ledger_user")
                    .doesNotContain("pw-in-the-url").doesNotContain("db-password-s3cr3t")
                    .doesNotContainIgnoringCase("exception").doesNotContainIgnoringCase("refused")
                    .doesNotContain("localhost");
        }
    }
}
