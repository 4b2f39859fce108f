package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.testing.Callbacks;
import dev.mercuryobridge.testing.FuzzBodies;
import dev.mercuryobridge.testing.FuzzCases;
import dev.mercuryobridge.testing.FuzzInvariants;
import dev.mercuryobridge.testing.TestApp;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Mutated signed bodies of both routes against the real app on a real PostgreSQL (and Kafka).
 *
 * <p>Most go in process through the parser and the one write path (the fast path of the fuzz
 * run): {@link IngestService#ingest}, exactly what the callback routes call once the signature
 * has verified. A slice goes over HTTP, signed, through the routes themselves. After each body:
 * answered (200 over HTTP, an outcome in process) and stored byte for byte with the outcome it
 * was answered. After each property: the database invariants hold over every row (gapless
 * transition sequences, one outbox row per transition and per event, quarantine complete) and
 * the admin API lists the quarantined bodies as stored.
 *
 * <p>{@code make test} runs a slice of a few thousand cases; {@code make fuzz} runs over 100,000
 * ({@link FuzzCases}).
 */
class CallbackFuzzTest {
    private static final SignatureVerifier.Match MATCH =
            new SignatureVerifier.Match(0, SignatureVerifier.fingerprint(TestApp.SIGN_KEY), SignatureVerifier.Variant.RAW);

    private static TestApp app;
    private static IngestService ingest;
    private static final AtomicLong sent = new AtomicLong();
    private static final AtomicLong overHttp = new AtomicLong();
    private static long startedAt;
    private static final FuzzBodies.Pools POOLS = FuzzBodies.Pools.of("f", Instant.now().getEpochSecond());

    @BeforeContainer
    static void start() {
        // One WARN line per quarantined body is 60,000 lines in make fuzz: the rows say it all.
        quietQuarantineLog(true);
        app = TestApp.start();
        startedAt = System.nanoTime();
        ingest = new IngestService(app.dsl(), new Messages(app.app().config().topics()), IngestListener.NONE, java.time.Clock.systemUTC());
    }

    @AfterContainer
    static void stop() {
        if (app != null) {
            // make fuzz prints the lines starting with "fuzz".
            System.out.printf("fuzz: %,d cases (%,d in process, %,d over HTTP) in %.1f s%n", sent.get(),
                    sent.get() - overHttp.get(), overHttp.get(), (System.nanoTime() - startedAt) / 1e9);
            FuzzInvariants.summary(app.dsl()).lines().forEach(line -> System.out.println("fuzz:   " + line));
            app.close();
        }
        quietQuarantineLog(false);
    }

    private static void quietQuarantineLog(boolean quiet) {
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(IngestService.class))
                .setLevel(quiet ? ch.qos.logback.classic.Level.ERROR : null);
    }

    @Provide
    Arbitrary<FuzzBodies.Body> transactionBodies() {
        return FuzzBodies.transactions(POOLS);
    }

    @Provide
    Arbitrary<FuzzBodies.Body> spendCardBodies() {
        return FuzzBodies.spendCardEvents(POOLS);
    }

    @Property(shrinking = net.jqwik.api.ShrinkingMode.OFF)
    @FuzzCases(test = 1_000, fuzz = 45_000)
    void every_signed_transaction_body_is_stored_verbatim_with_the_outcome_it_was_answered(
            @ForAll("transactionBodies") FuzzBodies.Body body) {
        storedVerbatim(Callback.Route.TRANSACTION, body);
    }

    @Property(shrinking = net.jqwik.api.ShrinkingMode.OFF)
    @FuzzCases(test = 1_000, fuzz = 45_000)
    void every_signed_spend_card_body_is_stored_verbatim_with_the_outcome_it_was_answered(
            @ForAll("spendCardBodies") FuzzBodies.Body body) {
        storedVerbatim(Callback.Route.SPEND_CARD, body);
    }

    @Property(shrinking = net.jqwik.api.ShrinkingMode.OFF)
    @FuzzCases(test = 200, fuzz = 5_000)
    void every_signed_transaction_body_posted_over_http_is_answered_200_and_stored_verbatim(
            @ForAll("transactionBodies") FuzzBodies.Body body) {
        postedAndStoredVerbatim(Callbacks.TRANSACTION_PATH, Callback.Route.TRANSACTION, body);
    }

    @Property(shrinking = net.jqwik.api.ShrinkingMode.OFF)
    @FuzzCases(test = 200, fuzz = 5_000)
    void every_signed_spend_card_body_posted_over_http_is_answered_200_and_stored_verbatim(
            @ForAll("spendCardBodies") FuzzBodies.Body body) {
        postedAndStoredVerbatim(Callbacks.SPEND_CARD_PATH, Callback.Route.SPEND_CARD, body);
    }

    @AfterProperty
    void the_database_invariants_hold_and_the_quarantine_is_listed() throws Exception {
        FuzzInvariants.check(app.dsl(), sent.get());

        var listed = app.admin("GET", "/api/quarantine?limit=1000&include_replayed=true");
        assertThat(listed.statusCode()).isEqualTo(200);
        JsonNode items = Json.MAPPER.readTree(listed.body()).get("items");
        assertThat(items.size()).isEqualTo((int) Math.min(1_000, app.dsl().fetchCount(QUARANTINE)));
        for (JsonNode item : items) {
            byte[] stored = app.dsl().select(CALLBACK.BODY).from(CALLBACK)
                    .where(CALLBACK.ID.eq(item.get("callback_id").longValue())).fetchSingle(CALLBACK.BODY);
            assertThat(item.get("body").textValue()).isEqualTo(new String(stored, StandardCharsets.UTF_8));
            assertThat(item.get("reason").textValue()).isNotBlank();
        }
    }

    private static void postedAndStoredVerbatim(String path, Callback.Route route, FuzzBodies.Body body) {
        HttpResponse<String> response = app.postCallback(path, body.bytes(), SignatureVerifier.sign(TestApp.SIGN_KEY, body.bytes()));
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        // Counted once answered: a body refused with an error must have left no row either.
        sent.incrementAndGet();
        overHttp.incrementAndGet();

        String outcome = response.headers().firstValue("X-Callback-Outcome").orElseThrow();
        var row = app.dsl().selectFrom(CALLBACK).orderBy(CALLBACK.ID.desc()).limit(1).fetchSingle();
        assertThat(row.getBody()).isEqualTo(body.bytes());
        assertThat(row.getRoute()).isEqualTo(route.dbValue());
        assertThat(row.getOutcome()).isEqualTo(switch (outcome) {
            case "duplicate", "quarantined" -> outcome;
            default -> "accepted";
        });
    }

    private static void storedVerbatim(Callback.Route route, FuzzBodies.Body body) {
        Outcome outcome = ingest.ingest(route, body.bytes(), MATCH);
        sent.incrementAndGet();

        // Single-threaded: the newest raw row is this body's.
        var row = app.dsl().selectFrom(CALLBACK).orderBy(CALLBACK.ID.desc()).limit(1).fetchSingle();
        assertThat(row.getBody()).isEqualTo(body.bytes());
        assertThat(row.getRoute()).isEqualTo(route.dbValue());
        assertThat(row.getOutcome()).isEqualTo(switch (outcome) {
            case DUPLICATE -> "duplicate";
            case QUARANTINED -> "quarantined";
            default -> "accepted";
        });
        if (outcome == Outcome.QUARANTINED) {
            assertThat(app.dsl().fetchExists(QUARANTINE, QUARANTINE.CALLBACK_ID.eq(row.getId()))).isTrue();
        }
    }
}
