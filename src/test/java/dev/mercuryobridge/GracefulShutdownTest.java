package dev.mercuryobridge;

import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Shutdown stops accepting, lets the in-flight callback commit and answer, then closes the pool. */
class GracefulShutdownTest {

    @Test
    void in_flight_callback_completes_during_shutdown_and_new_ones_are_refused() throws Exception {
        TestApp app = TestApp.start();
        int port = app.app().httpPort();
        app.postCallback(TRANSACTION_PATH, transaction("graceful1", "buy", "new", 100));
        String url = app.app().config().databaseUrl();

        // Hold the state row so the next callback blocks inside its transaction.
        try (Connection blocker = DriverManager.getConnection(url, "postgres", "postgres")) {
            blocker.setAutoCommit(false);
            try (Statement s = blocker.createStatement()) {
                s.execute("select * from transaction_state where transaction_id = 'graceful1' for update");
            }
            CompletableFuture<HttpResponse<String>> inFlight = CompletableFuture.supplyAsync(() ->
                    app.postCallback(TRANSACTION_PATH, transaction("graceful1", "buy", "pending", 200)));
            waitForBlockedQuery(blocker);

            CompletableFuture<Void> closing = CompletableFuture.runAsync(app::close);
            Thread.sleep(300);
            assertThat(closing).isNotDone();
            blocker.rollback();

            assertThat(inFlight.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            closing.get(15, TimeUnit.SECONDS);
        }

        // Committed before the answer, and the port no longer accepts.
        try (Connection c = DriverManager.getConnection(url, "postgres", "postgres");
             Statement s = c.createStatement();
             var rs = s.executeQuery("select status from transaction_state where transaction_id = 'graceful1'")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("pending");
        }
        assertThatThrownBy(() -> new java.net.Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
    }

    private static void waitForBlockedQuery(Connection c) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (Statement s = c.createStatement();
                 var rs = s.executeQuery("select count(*) from pg_stat_activity where wait_event_type = 'Lock'")) {
                rs.next();
                if (rs.getInt(1) > 0) {
                    return;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the callback never reached the locked row");
    }
}
