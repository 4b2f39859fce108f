package dev.mercuryobridge.chaos;

import dev.mercuryobridge.outbox.RelayLock;

import javax.sql.DataSource;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** What the chaos suite reads from (and does to) the service's database, over its own connections. */
final class ChaosDatabase {
    private final DataSource dataSource;

    ChaosDatabase(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** A database session: its backend pid and the {@code application_name} its client set. */
    record Session(int pid, String applicationName) {}

    /** The session holding the relay's advisory lock, if any. */
    Optional<Session> relayLockHolder() throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(RelayLock.HOLDER_SQL);
             ResultSet rs = s.executeQuery()) {
            return rs.next() ? Optional.of(new Session(rs.getInt(1), rs.getString(2))) : Optional.empty();
        }
    }

    /** {@code pg_terminate_backend}: the session ends as if its connection broke; its locks are released. */
    void terminate(Session session) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement s = c.prepareStatement("select pg_terminate_backend(?)")) {
            s.setInt(1, session.pid());
            try (ResultSet rs = s.executeQuery()) {
                if (!rs.next() || !rs.getBoolean(1)) {
                    throw new IllegalStateException("session " + session + " could not be terminated");
                }
            }
        }
    }

    /** Outbox rows not yet marked published, of keys starting with {@code keyPrefix} ("" for all). */
    long unpublished(String keyPrefix) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "select count(*) from outbox o join outbox_pending p on p.id = o.id where o.message_key like ?")) {
            s.setString(1, keyPrefix + "%");
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Everything the checks compare, for keys (transaction and card ids) starting with {@code keyPrefix}. */
    ChaosChecks.Stored snapshot(String keyPrefix) throws SQLException {
        String like = keyPrefix + "%";
        try (Connection c = dataSource.getConnection()) {
            Set<String> hashes = strings(c, "select encode(body_sha256, 'hex') from callback", null);
            Set<String> events = strings(c, "select transaction_id || '|' || status from transaction_event"
                    + " where transaction_id like ?", like);
            Set<String> cardEvents = strings(c, "select event_id::text from spend_card_event where card_id like ?", like);
            List<ChaosChecks.Transition> transitions = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement(
                    "select transaction_id, sequence, status from status_transition where transaction_id like ?")) {
                s.setString(1, like);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        transitions.add(new ChaosChecks.Transition(rs.getString(1), rs.getInt(2), rs.getString(3)));
                    }
                }
            }
            List<ChaosChecks.OutboxRow> outbox = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("select event_id, topic, message_key, payload,"
                    + " not exists (select 1 from outbox_pending p where p.id = o.id) from outbox o where message_key like ?")) {
                s.setString(1, like);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        outbox.add(new ChaosChecks.OutboxRow(rs.getString(1), rs.getString(2), rs.getString(3),
                                rs.getBytes(4), rs.getBoolean(5)));
                    }
                }
            }
            return new ChaosChecks.Stored(hashes, events, cardEvents, transitions, outbox);
        }
    }

    /** The outbox rows of the keys, in id order, as tab-separated lines: for reading a failure after the run. */
    void dumpOutbox(String keyPrefix, Path file) throws SQLException, IOException {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement("select id, topic,"
                + " message_key, event_id, created_at, not exists (select 1 from outbox_pending p where p.id = o.id)"
                + " from outbox o where message_key like ? order by id");
             BufferedWriter out = Files.newBufferedWriter(file)) {
            s.setString(1, keyPrefix + "%");
            out.write("id\ttopic\tkey\tevent_id\tcreated_at\tpublished\n");
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    out.write(rs.getLong(1) + "\t" + rs.getString(2) + "\t" + rs.getString(3) + "\t" + rs.getString(4)
                            + "\t" + rs.getString(5) + "\t" + rs.getString(6) + "\n");
                }
            }
        }
    }

    private static Set<String> strings(Connection c, String sql, String param) throws SQLException {
        Set<String> out = new HashSet<>();
        try (PreparedStatement s = c.prepareStatement(sql)) {
            if (param != null) {
                s.setString(1, param);
            }
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }
}
