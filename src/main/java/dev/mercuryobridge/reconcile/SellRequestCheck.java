package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.finding.Finding;
import dev.mercuryobridge.finding.FindingKind;
import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.ingest.Callback;
import dev.mercuryobridge.ingest.IngestService;
import dev.mercuryobridge.mercuryo.CardUser;
import dev.mercuryobridge.mercuryo.MercuryoApiException;
import dev.mercuryobridge.mercuryo.MercuryoClient;
import dev.mercuryobridge.mercuryo.MercuryoErrors;
import dev.mercuryobridge.mercuryo.SellRequestStatus;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.Set;

import static dev.mercuryobridge.db.generated.Tables.CARD_USER;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;

/**
 * Asks Mercuryo for one sell request's status ({@code GET
 * /sdk-partner/spend/cards/sell-request/{id}/status}) and acts on the answer:
 * <ul>
 *   <li>a further status is a callback we missed: written through the callback path with
 *       {@code detected_by = reconciler}, raised as {@code missed_callback};</li>
 *   <li>an earlier status is never applied: {@code status_mismatch};</li>
 *   <li>the status we hold changes nothing and is no finding;</li>
 *   <li>an id Mercuryo does not know: {@code missing_at_mercuryo}, once.</li>
 * </ul>
 * What Mercuryo said is kept on the state for the report either way.
 */
final class SellRequestCheck {
    private static final Logger log = LoggerFactory.getLogger(SellRequestCheck.class);

    private final DSLContext dsl;
    private final IngestService ingest;
    private final RunFindings findings;
    private final MercuryoClient client;

    SellRequestCheck(DSLContext dsl, IngestService ingest, RunFindings findings, MercuryoClient client) {
        this.dsl = dsl;
        this.ingest = ingest;
        this.findings = findings;
        this.client = client;
    }

    /** Returns the number of findings announced. */
    int check(long runId, Watchlist.DueSellRequest item, CardUser user) {
        SellRequestStatus api;
        try {
            api = client.sellRequestStatus(user, item.id());
        } catch (MercuryoApiException e) {
            if (e.httpStatus() == 404 && e.code() == MercuryoErrors.NOT_FOUND) {
                return findings.raise(Finding.byRun(FindingKind.MISSING_AT_MERCURYO, item.id(), item.storedStatus(), null,
                        new IngestService.RunRef(runId), runId)) ? 1 : 0;
            }
            throw e;
        }
        int announced = 0;
        Findings.resolveExcept(dsl, FindingKind.MISSING_AT_MERCURYO, item.id(), Set.of());
        if (api.cardId() != null && user.userUuid() != null) {
            learnCardId(user.userUuid(), api.cardId());
        }
        String status = api.status().strip().toLowerCase(Locale.ROOT);
        Callback.Transaction report = new Callback.Transaction(item.id(), item.type() == null ? "sell" : item.type(), status,
                null, null, null, null, api.amount(), api.currency(), api.fiatAmount(), api.fiatCurrency(), null, null, null,
                user.userUuid(), null, api.data() instanceof ObjectNode o ? o : Json.MAPPER.createObjectNode());
        IngestService.ApiRead read = ingest.recordApiStatus(report, runId);
        switch (read.outcome()) {
            case ACCEPTED -> {
                announced++;
                Findings.resolveExcept(dsl, FindingKind.STATUS_MISMATCH, item.id(), Set.of());
                log.atInfo().addKeyValue("transaction_id", item.id()).addKeyValue("run_id", runId)
                        .addKeyValue("outcome", "missed_callback")
                        .log("reconciliation run {}: sell request {} is {} at Mercuryo, we had {} (missed callback, now applied)",
                                runId, item.id(), status, read.previousStatus() == null ? "nothing" : read.previousStatus());
            }
            case STALE -> {
                if (findings.raise(Finding.byRun(FindingKind.STATUS_MISMATCH, item.id(), read.previousStatus(), status,
                        new IngestService.RunRef(runId), runId))) {
                    announced++;
                }
                Findings.resolveExcept(dsl, FindingKind.STATUS_MISMATCH, item.id(), Set.of(status));
            }
            case DUPLICATE -> Findings.resolveExcept(dsl, FindingKind.STATUS_MISMATCH, item.id(), Set.of());
            case CONFLICT -> log.warn("reconciliation run {}: sell request {} is {} at Mercuryo after a different final status {}",
                    runId, item.id(), status, read.previousStatus());
            case QUARANTINED -> throw new IllegalStateException("an API read is never quarantined");
        }
        // What Mercuryo said, for the report's "status from the API" (after the write above, which
        // may have created the row).
        dsl.update(TRANSACTION_STATE)
                .set(TRANSACTION_STATE.API_STATUS, status)
                .set(TRANSACTION_STATE.API_AMOUNT, api.amount())
                .set(TRANSACTION_STATE.API_FIAT_AMOUNT, api.fiatAmount())
                .set(TRANSACTION_STATE.API_CHECKED_AT, DSL.currentInstant())
                .where(TRANSACTION_STATE.TRANSACTION_ID.eq(item.id()))
                .execute();
        return announced;
    }


    /** The card id the API text documents on the sell request's status answer. */
    private void learnCardId(String userUuid, String cardId) {
        dsl.insertInto(CARD_USER)
                .set(CARD_USER.USER_UUID, userUuid).set(CARD_USER.CARD_ID, cardId).set(CARD_USER.SOURCE, "callback")
                .onConflict(CARD_USER.USER_UUID).doUpdate()
                .set(CARD_USER.CARD_ID, cardId).set(CARD_USER.UPDATED_AT, DSL.currentInstant())
                .where(CARD_USER.CARD_ID.isDistinctFrom(cardId))
                .execute();
    }
}
