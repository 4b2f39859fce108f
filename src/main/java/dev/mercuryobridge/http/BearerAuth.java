package dev.mercuryobridge.http;

import io.javalin.http.Context;
import io.javalin.http.Handler;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The admin API's bearer token check: a before-handler that App puts in front of every
 * {@code /api/*} route of the admin port, whichever feature registered it. The comparison takes
 * the same time whatever the given header, so it reveals nothing of the token.
 */
public final class BearerAuth implements Handler {
    private final byte[] expected;

    public BearerAuth(String token) {
        this.expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void handle(Context ctx) {
        String header = ctx.header("Authorization");
        byte[] given = header == null ? new byte[0] : header.getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, expected)) {
            ctx.header("WWW-Authenticate", "Bearer");
            throw new ApiException(401, "unauthorized", "Authorization: Bearer <ADMIN_TOKEN> is required");
        }
    }
}
