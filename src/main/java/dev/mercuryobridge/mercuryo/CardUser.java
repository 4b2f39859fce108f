package dev.mercuryobridge.mercuryo;

/**
 * The end-user on whose behalf the client calls Mercuryo. Mercuryo identifies the user by e-mail at
 * sign-in; {@code ip} is the user's real IP address, sent as {@code B2B-User-Ip}, which the API
 * text makes mandatory with a user token ("It must contain the real IP address of end-user").
 * {@code userUuid} is ours, for messages.
 */
public record CardUser(String userUuid, String email, String ip) {

    public CardUser {
        if (email == null || email.isBlank()) {
            throw new IllegalArgumentException("email is required: Mercuryo signs users in by e-mail");
        }
        if (ip == null || ip.isBlank()) {
            throw new IllegalArgumentException("ip is required: the user's real IP goes in B2B-User-Ip");
        }
    }
}
