package dev.mercuryobridge.mercuryo;

/**
 * Mercuryo's six-digit error codes this service acts on, each with the line of the Spend Card API
 * text (../shared/reference/mercuryo-spend-card-api.txt) it comes from. Every other code is
 * reported as it came.
 */
public final class MercuryoErrors {

    /** "401000: Authorization failed" (every endpoint): the token is expired or revoked. Sign in again. */
    static final int AUTHORIZATION_FAILED = 401000;
    /**
     * "400064: User not found by token" (sell-request status, refresh-token, contacts...): the
     * token no longer names a user. Sign in again.
     */
    static final int USER_NOT_FOUND_BY_TOKEN = 400064;
    /**
     * "403007: There's another active transaction" (sign-in, top-up, open): Mercuryo refuses while
     * a top-up is in flight. Try that user again later; nothing is wrong with our data.
     */
    public static final int ANOTHER_ACTIVE_TRANSACTION = 403007;
    /** "403020: IP is blacklisted" (every user call): the B2B-User-Ip we sent is refused. */
    static final int IP_BLACKLISTED = 403020;
    /**
     * "404000: No open card found" (balance, masked card data). Also what we assume Mercuryo
     * answers for a sell request it does not know (the API text lists no code for that).
     */
    public static final int NOT_FOUND = 404000;
    /** "400086: Failed to get transactions." (card transactions). */
    static final int FAILED_TO_GET_TRANSACTIONS = 400086;
    /** "400210: Invalid card status" (balance). */
    static final int INVALID_CARD_STATUS = 400210;
    /** "500001: Various reasons, check the message field": worth retrying with backoff. */
    static final int VARIOUS = 500001;

    private MercuryoErrors() {}

    /** Codes a fresh sign-in can cure. */
    static boolean needsSignIn(int code) {
        return code == AUTHORIZATION_FAILED || code == USER_NOT_FOUND_BY_TOKEN;
    }
}
