package dev.mercuryobridge.simulator;

import java.util.Objects;

/** A simulated Mercuryo user and their one Spend Card (Mercuryo allows one card per user). */
public record CardUserRef(String userUuid, String email, String cardId) {
    public CardUserRef {
        Objects.requireNonNull(userUuid, "userUuid");
        Objects.requireNonNull(email, "email");
        Objects.requireNonNull(cardId, "cardId");
    }
}
