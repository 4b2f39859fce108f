package dev.mercuryobridge.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import io.javalin.http.Context;

import java.io.IOException;

/** Request parameters and bodies of the admin API, validated with one kind of answer: 400. */
public final class Params {

    private Params() {}

    /** {@code ?limit=}: 1 to 1000, default 100. */
    public static int limit(Context ctx) {
        String raw = ctx.queryParam("limit");
        if (raw == null) {
            return 100;
        }
        try {
            int n = Integer.parseInt(raw);
            if (n >= 1 && n <= 1000) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below, like any other out-of-range value
        }
        throw ApiException.badRequest("invalid_limit", "limit must be a whole number from 1 to 1000");
    }

    public static long longPathParam(Context ctx, String name) {
        try {
            return Long.parseLong(ctx.pathParam(name));
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("invalid_" + name, name + " must be a whole number");
        }
    }

    /** The body as a JSON object, or 400. */
    public static JsonNode jsonObject(Context ctx) {
        try {
            JsonNode node = Json.MAPPER.readTree(ctx.bodyAsBytes());
            if (node == null || !node.isObject()) {
                throw ApiException.badRequest("invalid_body", "the body must be a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw ApiException.badRequest("invalid_body", "the body is not valid JSON");
        }
    }
}
