package dev.mercuryobridge.http;

/** What a failure comes down to, for a log line, a command's last words or a stored reason. */
public final class RootCause {
    private static final int MAX_LENGTH = 500;

    private RootCause() {}

    /**
     * The message of the innermost cause (jOOQ, Hikari and the JDK wrap the one that says what
     * happened), or its class name when it has none; at most 500 characters.
     */
    public static String message(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return m.length() > MAX_LENGTH ? m.substring(0, MAX_LENGTH) : m;
    }
}
