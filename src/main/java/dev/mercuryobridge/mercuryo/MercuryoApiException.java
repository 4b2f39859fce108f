package dev.mercuryobridge.mercuryo;

/**
 * Mercuryo answered, and the answer is a failure or unusable. {@code code} is Mercuryo's six-digit
 * error code (e.g. 401000 authorization failed, 403020 IP blacklisted, 404000 no open card, 500001
 * various); when the answer carries none it is {@code httpStatus * 1000}, so a 502 from a proxy is
 * 502000 and a 2xx answer the client cannot use (bad JSON, missing fields, a pagination loop) is
 * 200000.
 *
 * <p>Failures where no answer arrived (timeout, connection refused or reset) are not this exception:
 * they surface as {@link java.io.UncheckedIOException} once the retries are spent.
 */
public final class MercuryoApiException extends RuntimeException {

    /** Authorization failed: the user token is expired or revoked, or the partner token is wrong. */
    public static final int AUTHORIZATION_FAILED = 401000;
    /** Mercuryo's "various reasons" code, documented as worth retrying with backoff. */
    public static final int VARIOUS_RETRYABLE = 500001;

    private final int httpStatus;
    private final int code;

    public MercuryoApiException(int httpStatus, int code, String message) {
        super(message);
        this.httpStatus = httpStatus;
        this.code = code;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public int code() {
        return code;
    }

    /**
     * Whether the same call may succeed later: server-side failures (HTTP 5xx, codes 5xxxxx such as
     * 500001). The client has already retried these with backoff before throwing.
     */
    public boolean retryable() {
        return httpStatus >= 500 || code / 1000 >= 500;
    }
}
