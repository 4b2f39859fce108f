package dev.mercuryobridge.simulator;

import java.util.Objects;

/**
 * A simulated Mercuryo user and their one Spend Card (Mercuryo allows one card per user).
 *
 * @param ip the user's own IP address, from the documentation ranges 203.0.113.0/24 and
 *           198.51.100.0/24: what a partner registers for the user
 *           ({@code PUT /api/card-users/{uuid}}) and sends as {@code B2B-User-Ip}. The simulator
 *           does not tie requests to it; {@link MercuryoSimulator#blacklistIp} rejects an IP.
 */
public record CardUserRef(String userUuid, String email, String cardId, String ip) {
    public CardUserRef {
        Objects.requireNonNull(userUuid, "userUuid");
        Objects.requireNonNull(email, "email");
        Objects.requireNonNull(cardId, "cardId");
        Objects.requireNonNull(ip, "ip");
    }
}
