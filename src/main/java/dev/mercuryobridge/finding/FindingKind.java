package dev.mercuryobridge.finding;

import java.util.Locale;

/** What a finding says disagrees. The stored and published name is {@link #dbValue()}. */
public enum FindingKind {
    /** A second, different final status reported for one transaction. */
    FINAL_STATUS_CONFLICT,
    /** Mercuryo's API shows a further status no callback brought (applied by the reconciler). */
    MISSED_CALLBACK,
    /** Mercuryo's API shows an earlier status than we hold: never applied, a human looks. */
    STATUS_MISMATCH,
    /** A sell request we know of that Mercuryo's API does not. */
    MISSING_AT_MERCURYO,
    /** A card transaction Mercuryo lists that no Spend Card callback reported. */
    UNSEEN_CARD_TRANSACTION,
    /** A card balance at Mercuryo that differs from what the Spend Card callbacks imply. */
    BALANCE_DRIFT;

    public String dbValue() {
        return name().toLowerCase(Locale.ROOT);
    }
}
