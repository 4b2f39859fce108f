package dev.mercuryobridge.ingest;

/**
 * A signed body that cannot be parsed or validated. It is quarantined, not rejected.
 *
 * <p>The reason is stored (a text column) and logged, and parts of it may come from the body
 * (a JSON reader quotes the token it choked on): control characters, which PostgreSQL text cannot
 * hold (U+0000) or which would forge log lines (CR, LF), and lone surrogates are replaced, and
 * the length is bounded.
 */
final class InvalidCallbackException extends Exception {
    static final int MAX_REASON_LENGTH = 500;

    InvalidCallbackException(String reason) {
        super(safe(reason), null, false, false);
    }

    static String safe(String reason) {
        String r = reason == null ? "invalid" : reason;
        StringBuilder b = new StringBuilder(Math.min(r.length(), MAX_REASON_LENGTH + 1));
        for (int i = 0; i < r.length() && b.length() < MAX_REASON_LENGTH; i++) {
            char c = r.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < r.length() && Character.isLowSurrogate(r.charAt(i + 1))) {
                b.append(c).append(r.charAt(++i));
            } else if (Character.isISOControl(c) || Character.isSurrogate(c)) {
                b.append('\uFFFD');
            } else {
                b.append(c);
            }
        }
        if (b.length() >= MAX_REASON_LENGTH && r.length() > MAX_REASON_LENGTH) {
            b.append('…');
        }
        return b.toString();
    }
}
