package dev.mercuryobridge.report;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;

/** The report's rows. Money stays BigDecimal from numeric to output: never a floating point. */
final class ReportModel {

    private ReportModel() {}

    /** Results, in the order they are checked: the first that applies is a line's result. */
    static final List<String> RESULTS = List.of(
            "missing_at_mercuryo", "status_mismatch", "amount_mismatch", "missed_callback", "unresolved", "matched");

    /** @param openFindings findings open at the data cut-off (the rows of the open findings section) */
    record Header(LocalDate from, LocalDate to, ZoneId zone, Instant generatedAt, Instant dataCutoff,
                  Map<String, Long> countsByResult, long openFindings, List<ChartPoint> chart) {
        long lines() {
            return countsByResult.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    record ChartPoint(LocalDate day, long callbacksReceived, long missedCallbacksCaught, long openFindings) {}

    /**
     * A finding open at the data cut-off.
     *
     * @param openSince  when it was raised, or raised again after it had been resolved
     * @param ageSeconds from {@code openSince} to the report's clock ({@link Header#generatedAt()})
     */
    record FindingLine(long findingId, String kind, String subject, String expected, String actual,
                       String detectedBy, Instant openSince, long ageSeconds) {}

    record TransactionLine(String transactionId, String merchantTransactionId, String transactionType,
                           String paymentMethod, String statusFromCallbacks, String statusFromApi,
                           BigDecimal amount, String currency, BigDecimal fiatAmount, String fiatCurrency,
                           BigDecimal fee, BigDecimal partnerFee, BigDecimal rate, Instant createdAt,
                           Instant updatedAt, String result, String detectedBy, Instant detectedAt) {}

    /** Where a card's opening balance starts from. */
    enum OpeningBasis {
        /** Mercuryo's {@code card_balance} reported with a top-up before the period, plus the movements after it. */
        CHECKPOINT,
        /** No such checkpoint: the movements the callbacks reported, as if the card held nothing before the first. */
        CALLBACKS_ONLY;

        String value() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * A card's balance over the period, explained:
     * {@code opening + topUps - purchases + otherActivity + checkpointCorrections = closing}, then
     * {@code closing + changeToApiCheck = expectedAtApiCheck} and
     * {@code apiBalance - expectedAtApiCheck = unexplainedDifference}. The last three are null when
     * they cannot be known; {@code notes} says why.
     *
     * @param checkpointCorrections what Mercuryo's {@code card_balance} checkpoints in the period
     *                              added to the balance the callbacks implied just before them
     * @param changeToApiCheck      the callbacks' change from the period's end to the API check
     *                              (backwards when the check came before the end)
     * @param movements             the period's movements summed by type, status and currency
     */
    record CardLine(String cardId, String userUuid, String currency, BigDecimal openingBalance,
                    OpeningBasis openingBasis, BigDecimal topUps, BigDecimal purchases, BigDecimal otherActivity,
                    BigDecimal checkpointCorrections, BigDecimal closingBalance, BigDecimal apiBalance,
                    String apiBalanceCurrency, Instant apiBalanceCheckedAt, BigDecimal changeToApiCheck,
                    BigDecimal expectedAtApiCheck, BigDecimal unexplainedDifference, String notes,
                    List<MovementTotal> movements) {}

    /**
     * @param amountTotal the movements' sizes
     * @param effectTotal what they did to the balance: credits positive, debits negative, zero for
     *                    what moved nothing (declined, reversed)
     */
    record MovementTotal(String type, String status, String currency, long count, BigDecimal amountTotal,
                         BigDecimal effectTotal) {}

    record DailyLine(LocalDate day, String currency, String transactionType, String status, long count,
                     BigDecimal fiatAmountTotal, BigDecimal feeTotal) {}
}
