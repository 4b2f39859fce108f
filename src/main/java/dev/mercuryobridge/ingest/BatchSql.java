package dev.mercuryobridge.ingest;

import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Table;

import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * The hot statements of a batch as fixed SQL over arrays ({@code unnest}), run with plain JDBC:
 * the same text whatever the batch size, so PostgreSQL plans each once per connection and
 * nothing renders SQL per batch (jOOQ's rendering of the multi-row forms was the largest part
 * of the writers' CPU). Everything else stays jOOQ. Column lists and types come from the
 * generated tables, so a migration that adds a column cannot be silently left out of a write.
 */
final class BatchSql {
    private BatchSql() {}

    /** The rows of one statement, column by column: each column one SQL array parameter. */
    static final class Columns {
        private final List<Field<?>> fields;
        private final List<Object[]> values = new ArrayList<>();

        Columns(List<Field<?>> fields, int rows) {
            this.fields = fields;
            for (Field<?> f : fields) {
                values.add(f.getType() == byte[].class ? new byte[rows][] : new String[rows]);
            }
        }

        /** Sets column {@code column} of row {@code row}; null stays SQL null. */
        void set(int row, int column, Object value) {
            Object[] col = values.get(column);
            col[row] = value == null || value instanceof byte[] ? value : text(value);
        }

        void bind(Connection c, PreparedStatement ps, int firstParameter) throws SQLException {
            for (int i = 0; i < fields.size(); i++) {
                Array a = c.createArrayOf(fields.get(i).getType() == byte[].class ? "bytea" : "text", values.get(i));
                ps.setArray(firstParameter + i, a);
            }
        }
    }

    /** {@code unnest(?::text[]::<type>[], …)} over these columns, in their order. */
    static String unnest(List<Field<?>> fields) {
        return fields.stream().map(f -> f.getType() == byte[].class ? "?::bytea[]" : "?::text[]::" + sqlType(f) + "[]")
                .collect(Collectors.joining(", ", "unnest(", ")"));
    }

    static String names(List<Field<?>> fields) {
        return fields.stream().map(Field::getName).collect(Collectors.joining(", "));
    }

    static String names(Table<?> table) {
        return names(List.of(table.fields()));
    }

    /** The SQL type of a generated column, from its Java type; a type not listed here fails at class load. */
    static String sqlType(Field<?> f) {
        Class<?> t = f.getType();
        if (t == String.class) return "text";
        if (t == Integer.class) return "integer";
        if (t == Long.class) return "bigint";
        if (t == Boolean.class) return "boolean";
        if (t == BigDecimal.class) return "numeric";
        if (t == Instant.class) return "timestamptz";
        if (t == UUID.class) return "uuid";
        if (t == byte[].class) return "bytea";
        if (t == org.jooq.JSONB.class) return "jsonb";
        throw new IllegalStateException("no SQL array type for column " + f.getName() + " of Java type " + t.getName());
    }

    /** Text PostgreSQL reads back as the same value of the column's type. */
    private static String text(Object v) {
        return switch (v) {
            case BigDecimal d -> d.toPlainString();
            case org.jooq.JSONB j -> j.data();
            default -> v.toString();
        };
    }

    /** Runs one prepared statement (or several separated by {@code ;}, sent in one round trip) on the transaction's connection. */
    static <T> T run(DSLContext tx, String sql, StatementWork<T> work) {
        return tx.connectionResult(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                return work.run(c, ps);
            }
        });
    }

    @FunctionalInterface
    interface StatementWork<T> {
        T run(Connection c, PreparedStatement ps) throws SQLException;
    }

    /** The rows of a result set, one value each, read by {@code row}. */
    static <T> List<T> rows(ResultSet rs, ResultRow<T> row) throws SQLException {
        List<T> out = new ArrayList<>();
        try (rs) {
            while (rs.next()) {
                out.add(row.read(rs));
            }
        }
        return out;
    }

    @FunctionalInterface
    interface ResultRow<T> {
        T read(ResultSet rs) throws SQLException;
    }
}
