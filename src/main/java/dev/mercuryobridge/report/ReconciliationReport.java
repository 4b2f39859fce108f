package dev.mercuryobridge.report;

import dev.mercuryobridge.reconcile.CardLedger;
import org.jooq.Cursor;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.Record;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.mercuryobridge.db.generated.Tables.FINDING;

/**
 * The reconciliation report: the findings still open; for a period, every transaction with what
 * callbacks said, what the API said and the verdict; every card's balance over the period explained
 * up to the API's; totals per day and currency; and the per-day chart figures.
 *
 * <p>All sections read one snapshot (a REPEATABLE READ, READ ONLY transaction), so the figures
 * agree with each other; its start is the data cut-off. Rows are read with a server-side cursor
 * and written as they come: memory stays flat however long the period. The queries are plain SQL
 * (through jOOQ): they are reports, clearer as SQL than as a DSL chain.
 */
public final class ReconciliationReport {
    private static final int FETCH_SIZE = 1_000;

    /** Transactions created in the period (Mercuryo's created_at_ts; our first sight when it is unknown). */
    private static final String TRANSACTIONS = """
            with t as (
              select s.*,
                     coalesce(s.created_at_ts, extract(epoch from s.first_seen_at)::bigint) as created_ts,
                     (select e.status from transaction_event e
                       where e.transaction_id = s.transaction_id and e.detected_by = 'callback'
                       order by e.updated_at_ts desc, e.id desc limit 1) as status_from_callbacks,
                     (select min(f.detected_at) from finding f
                       where f.subject = s.transaction_id and f.kind = 'missed_callback') as missed_at,
                     exists (select 1 from finding f where f.subject = s.transaction_id
                              and f.kind = 'missing_at_mercuryo' and f.resolved_at is null) as missing,
                     exists (select 1 from finding f where f.subject = s.transaction_id
                              and f.kind in ('status_mismatch', 'final_status_conflict') and f.resolved_at is null) as mismatch
                from transaction_state s
               where (s.created_at_ts >= {0} and s.created_at_ts < {1})
                  or (s.created_at_ts is null and s.first_seen_at >= to_timestamp({0}) and s.first_seen_at < to_timestamp({1}))
            ), r as (
              select t.*,
                     case
                       when missing then 'missing_at_mercuryo'
                       when mismatch or (api_status is not null and api_status <> status) then 'status_mismatch'
                       when (api_amount is not null and amount is not null and api_amount <> amount)
                         or (api_fiat_amount is not null and fiat_amount is not null and api_fiat_amount <> fiat_amount)
                         then 'amount_mismatch'
                       when missed_at is not null then 'missed_callback'
                       when not final then 'unresolved'
                       else 'matched'
                     end as result
                from t
            )
            """;

    private final DSLContext dsl;
    private final Clock clock;

    public ReconciliationReport(DSLContext dsl, Clock clock) {
        this.dsl = dsl;
        this.clock = clock;
    }

    /** Writes the report in the requested format to the stream (not closed). */
    public void write(ReportRequest request, OutputStream out) throws IOException {
        ReportSink sink = switch (request.format()) {
            case CSV -> new CsvReport(out);
            case JSON -> new JsonReport(out);
            case HTML -> new HtmlReport(out);
        };
        produce(request, sink);
    }

    void produce(ReportRequest request, ReportSink sink) throws IOException {
        try {
            dsl.transaction(c -> {
                DSLContext tx = c.dsl();
                tx.execute("set transaction isolation level repeatable read, read only");
                Instant cutoff = tx.fetchSingle("select now()").get(0, OffsetDateTime.class).toInstant();
                long from = request.start().getEpochSecond();
                long to = request.end().getEpochSecond();
                String zone = request.zone().getId();

                Instant generatedAt = clock.instant();
                sink.header(new ReportModel.Header(request.from(), request.to(), request.zone(), generatedAt, cutoff,
                        counts(tx, from, to), tx.fetchCount(FINDING, FINDING.RESOLVED_AT.isNull()), chart(tx, request, zone)));
                openFindings(tx, generatedAt, sink);
                try (Cursor<Record> rows = tx.resultQuery(TRANSACTIONS + """
                                select * from r order by created_ts, transaction_id""", from, to)
                        .fetchSize(FETCH_SIZE).fetchLazy()) {
                    for (Record r : rows) {
                        sink.transaction(transactionLine(r));
                    }
                }
                cards(tx, request, sink);
                try (Cursor<Record> rows = tx.resultQuery(TRANSACTIONS + """
                                select (to_timestamp(created_ts) at time zone {2})::date as day, fiat_currency,
                                       transaction_type, status, count(*) as n,
                                       sum(fiat_amount) as fiat_total, sum(fee) as fee_total
                                  from r
                                 group by 1, 2, 3, 4
                                 order by 1, 2, 3, 4""", from, to, zone)
                        .fetchSize(FETCH_SIZE).fetchLazy()) {
                    for (Record r : rows) {
                        sink.daily(new ReportModel.DailyLine(r.get("day", LocalDate.class), r.get("fiat_currency", String.class),
                                r.get("transaction_type", String.class), r.get("status", String.class),
                                r.get("n", Long.class), r.get("fiat_total", BigDecimal.class), r.get("fee_total", BigDecimal.class)));
                    }
                }
                sink.finish();
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } catch (org.jooq.exception.DataAccessException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e;
        }
    }

    private static Map<String, Long> counts(DSLContext tx, long from, long to) {
        Map<String, Long> counts = new LinkedHashMap<>();
        ReportModel.RESULTS.forEach(r -> counts.put(r, 0L));
        tx.resultQuery(TRANSACTIONS + "select result, count(*) as n from r group by result", from, to)
                .forEach(r -> counts.put(r.get("result", String.class), r.get("n", Long.class)));
        return counts;
    }

    private static List<ReportModel.ChartPoint> chart(DSLContext tx, ReportRequest request, String zone) {
        return tx.resultQuery("""
                        select d::date as day,
                               (select count(*) from callback c
                                 where c.received_at >= (d at time zone {2}) and c.received_at < ((d + interval '1 day') at time zone {2})) as received,
                               (select count(*) from finding f where f.kind = 'missed_callback'
                                 and f.detected_at >= (d at time zone {2}) and f.detected_at < ((d + interval '1 day') at time zone {2})) as caught,
                               (select count(*) from finding f
                                 where f.detected_at < ((d + interval '1 day') at time zone {2})
                                   and (f.resolved_at is null or f.resolved_at >= ((d + interval '1 day') at time zone {2}))) as open
                          from generate_series({0}::timestamp, {1}::timestamp, interval '1 day') as d
                         order by 1""",
                        request.from().atStartOfDay(), request.to().atStartOfDay(), zone)
                .fetch(r -> new ReportModel.ChartPoint(r.get("day", LocalDate.class), r.get("received", Long.class),
                        r.get("caught", Long.class), r.get("open", Long.class)));
    }

    private static ReportModel.TransactionLine transactionLine(Record r) {
        Long created = r.get("created_ts", Long.class);
        Long updated = r.get("updated_at_ts", Long.class);
        Instant missedAt = r.get("missed_at", OffsetDateTime.class) == null ? null : r.get("missed_at", OffsetDateTime.class).toInstant();
        OffsetDateTime lastChanged = r.get("last_changed_at", OffsetDateTime.class);
        return new ReportModel.TransactionLine(
                r.get("transaction_id", String.class), r.get("merchant_transaction_id", String.class),
                r.get("transaction_type", String.class), r.get("payment_method", String.class),
                r.get("status_from_callbacks", String.class), r.get("api_status", String.class),
                r.get("amount", BigDecimal.class), r.get("currency", String.class),
                r.get("fiat_amount", BigDecimal.class), r.get("fiat_currency", String.class),
                r.get("fee", BigDecimal.class), r.get("partner_fee", BigDecimal.class), r.get("rate", BigDecimal.class),
                created == null ? null : Instant.ofEpochSecond(created),
                updated == null ? null : Instant.ofEpochSecond(updated),
                r.get("result", String.class),
                missedAt != null ? "reconciler" : r.get("last_detected_by", String.class),
                missedAt != null ? missedAt : lastChanged == null ? null : lastChanged.toInstant());
    }

    /**
     * Every finding open at the data cut-off, whatever the period (an open finding is work still to
     * do), oldest first. Its age is measured to the report's clock: the same instant as the
     * header's {@code generated_at}.
     */
    private static void openFindings(DSLContext tx, Instant generatedAt, ReportSink sink) throws IOException {
        try (Cursor<Record> rows = tx.resultQuery("""
                        select id, kind, subject, expected, actual, detected_by, last_detected_at
                          from finding
                         where resolved_at is null
                         order by last_detected_at, id""")
                .fetchSize(FETCH_SIZE).fetchLazy()) {
            for (Record r : rows) {
                Instant openSince = r.get("last_detected_at", OffsetDateTime.class).toInstant();
                sink.finding(new ReportModel.FindingLine(r.get("id", Long.class), r.get("kind", String.class),
                        r.get("subject", String.class), r.get("expected", String.class), r.get("actual", String.class),
                        r.get("detected_by", String.class), openSince, Duration.between(openSince, generatedAt).toSeconds()));
            }
        }
    }

    /**
     * Per card user: the card's money as the Spend Card callbacks told it ({@link CardLedger}: a
     * card transaction's lifecycle counted once, a top-up once per sell request), explained over the
     * period against the balance the reconciler last read from the API ({@link CardDrift}). One
     * user's events at a time come off the cursor; only that user's movements are in memory.
     */
    private static void cards(DSLContext tx, ReportRequest request, ReportSink sink) throws IOException {
        try (Cursor<Record> rows = tx.resultQuery("""
                        with users as (
                            select user_uuid from card_user
                            union select user_uuid from spend_card_event where user_uuid is not null
                        )
                        select u.user_uuid, c.card_id, c.api_balance, c.api_balance_currency, c.api_balance_checked_at,
                               e.event_id, e.event_name, e.card_id as event_card_id, e.data, e.recorded_at
                          from users u
                          left join card_user c on c.user_uuid = u.user_uuid
                          left join spend_card_event e
                                 on e.user_uuid = u.user_uuid or (c.card_id is not null and e.card_id = c.card_id)
                         order by u.user_uuid, e.recorded_at, e.event_id""")
                .fetchSize(FETCH_SIZE).fetchLazy()) {
            CardTotals current = null;
            for (Record r : rows) {
                String userUuid = r.get("user_uuid", String.class);
                if (current == null || !current.userUuid.equals(userUuid)) {
                    if (current != null) {
                        sink.card(current.line(request));
                    }
                    OffsetDateTime checked = r.get("api_balance_checked_at", OffsetDateTime.class);
                    BigDecimal balance = r.get("api_balance", BigDecimal.class);
                    current = new CardTotals(userUuid, r.get("card_id", String.class), balance == null || checked == null ? null
                            : new CardDrift.ApiBalance(balance, r.get("api_balance_currency", String.class), checked.toInstant()));
                }
                java.util.UUID eventId = r.get("event_id", java.util.UUID.class);
                if (eventId != null) {
                    OffsetDateTime recorded = r.get("recorded_at", OffsetDateTime.class);
                    current.add(CardLedger.Event.stored(eventId, r.get("event_name", String.class),
                            r.get("data", JSONB.class), recorded.toInstant()), r.get("event_card_id", String.class));
                }
            }
            if (current != null) {
                sink.card(current.line(request));
            }
        }
    }

    private static final class CardTotals {
        final String userUuid;
        String cardId;
        final CardDrift.ApiBalance api;
        final List<CardLedger.Event> events = new ArrayList<>();

        CardTotals(String userUuid, String cardId, CardDrift.ApiBalance api) {
            this.userUuid = userUuid;
            this.cardId = cardId;
            this.api = api;
        }

        void add(CardLedger.Event event, String eventCardId) {
            events.add(event);
            if (cardId == null) {
                cardId = eventCardId;
            }
        }

        ReportModel.CardLine line(ReportRequest request) {
            return CardDrift.line(cardId, userUuid, CardLedger.of(events).movements(), api, request.start(), request.end());
        }
    }
}
