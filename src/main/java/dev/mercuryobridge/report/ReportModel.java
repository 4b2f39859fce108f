package dev.mercuryobridge.report;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;

/** The report's rows. Money stays BigDecimal from numeric to output: never a floating point. */
public final class ReportModel {

    private ReportModel() {}

    /** Results, in the order they are checked: the first that applies is a line's result. */
    public static final List<String> RESULTS = List.of(
            "missing_at_mercuryo", "status_mismatch", "amount_mismatch", "missed_callback", "unresolved", "matched");

    public record Header(LocalDate from, LocalDate to, ZoneId zone, Instant generatedAt, Instant dataCutoff,
                         Map<String, Long> countsByResult, List<ChartPoint> chart) {
        public long lines() {
            return countsByResult.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    public record ChartPoint(LocalDate day, long callbacksReceived, long missedCallbacksCaught, long openFindings) {}

    public record TransactionLine(String transactionId, String merchantTransactionId, String transactionType,
                                  String paymentMethod, String statusFromCallbacks, String statusFromApi,
                                  BigDecimal amount, String currency, BigDecimal fiatAmount, String fiatCurrency,
                                  BigDecimal fee, BigDecimal partnerFee, BigDecimal rate, Instant createdAt,
                                  Instant updatedAt, String result, String detectedBy, Instant detectedAt) {}

    public record CardLine(String cardId, String userUuid, String currency, BigDecimal openingBalance,
                           BigDecimal topUps, BigDecimal purchases, BigDecimal otherActivity, BigDecimal closingBalance,
                           BigDecimal apiBalance, Instant apiBalanceCheckedAt, BigDecimal drift) {}

    public record DailyLine(LocalDate day, String currency, String transactionType, String status, long count,
                            BigDecimal fiatAmountTotal, BigDecimal feeTotal) {}
}
