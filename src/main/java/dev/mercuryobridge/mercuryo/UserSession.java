package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.time.Instant;

/** A Mercuryo {@code Sdk-User-Token} and when it stops working. */
record UserSession(String token, String userUuid, Instant expiresAt) {

    /**
     * "The Sdk-User-Token expires in 24 hours for the Production environment": assumed when an
     * answer states no {@code timeout} (sign-in states none; refresh does).
     */
    static final Duration DEFAULT_LIFETIME = Duration.ofHours(24);

    public UserSession {
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("token is required");
        }
        if (expiresAt == null) {
            throw new IllegalArgumentException("expiresAt is required");
        }
    }

    /** Sign-in and refresh answer {@code {bearer_token, user_uuid[, timeout]}}. */
    static UserSession from(JsonNode data, Instant now) {
        String token = Fields.requiredText(data, "bearer_token");
        JsonNode timeout = data.get("timeout");
        Duration lifetime = timeout == null || timeout.isNull()
                ? DEFAULT_LIFETIME
                : Duration.ofSeconds(Fields.requiredDecimal(data, "timeout").longValueExact());
        return new UserSession(token, Fields.text(data, "user_uuid"), now.plus(lifetime));
    }

    boolean expiresWithin(Duration margin, Instant now) {
        return !expiresAt.isAfter(now.plus(margin));
    }

    /** Never prints the token: sessions end up in log lines and exception messages. */
    @Override
    public String toString() {
        return "UserSession[token=***, userUuid=" + userUuid + ", expiresAt=" + expiresAt + "]";
    }
}
