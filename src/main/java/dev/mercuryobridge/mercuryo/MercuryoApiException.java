package dev.mercuryobridge.mercuryo;

/**
 * Mercuryo answered with an error in its own JSON shape: {@code code} is its six-digit error code
 * (see {@link MercuryoErrors}). A 5xx that is not Mercuryo's JSON (a gateway's 502 page) is also
 * this exception, with code {@code httpStatus * 1000}, because it is an outage worth retrying, not
 * a misconfiguration. Any other answer that is not Mercuryo's JSON is a
 * {@link MercuryoProtocolException}.
 *
 * <p>Failures where no answer arrived (timeout, connection refused or reset) are not this exception:
 * they surface as {@link java.io.UncheckedIOException} once the retries are spent.
 */
public final class MercuryoApiException extends RuntimeException {

    private final int httpStatus;
    private final int code;

    MercuryoApiException(int httpStatus, int code, String message) {
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
    boolean retryable() {
        return httpStatus >= 500 || code / 1000 >= 500;
    }
}
