package dev.mercuryobridge.mercuryo;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A hand-written Mercuryo on 127.0.0.1, behind a {@code /v1.6} prefix like the real API. It signs
 * users in with {@link #PARTNER_TOKEN}, issues and checks user tokens, records every request, and
 * answers each route with a handler or, first, with one-shot scripted answers.
 */
final class FakeMercuryo implements AutoCloseable {

    static final String PARTNER_TOKEN = "partner-token-0123456789";
    static final String PREFIX = "/v1.6";

    record Request(String method, String path, Map<String, String> query, Headers headers, String body) {
        String header(String name) {
            return headers.getFirst(name);
        }
    }

    record Answer(int status, String body, Duration delay) {
        static Answer json(int status, String body) {
            return new Answer(status, body, Duration.ZERO);
        }

        static Answer ok(String dataJson) {
            return json(200, "{\"data\":" + dataJson + ",\"status\":\"200\"}");
        }

        static Answer error(int status, int code, String message) {
            return json(status, "{\"status\":" + status + ",\"code\":" + code + ",\"message\":\"" + message + "\"}");
        }

        static Answer hang(Duration delay) {
            return new Answer(200, "{\"data\":{},\"status\":\"200\"}", delay);
        }
    }

    private final HttpServer server;
    private final ExecutorService handlers = Executors.newCachedThreadPool();
    private final CountDownLatch closing = new CountDownLatch(1);
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Function<Request, Answer>> routes = new ConcurrentHashMap<>();
    private final Map<String, Queue<Answer>> scripted = new ConcurrentHashMap<>();
    private final Set<String> validTokens = ConcurrentHashMap.newKeySet();
    private final AtomicInteger issued = new AtomicInteger();
    private volatile Long signInTimeoutSeconds;

    FakeMercuryo() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.setExecutor(handlers);
        server.createContext("/", this::handle);
        on("POST", MercuryoClient.SIGN_IN, this::signIn);
        on("GET", MercuryoClient.REFRESH, this::refresh);
        on("GET", MercuryoClient.CARD_STATUS, r -> Answer.ok("{\"status\":\"active\",\"card_id\":\"0a56a5796e6056355\"}"));
        on("GET", MercuryoClient.BALANCE, r -> Answer.ok("{\"fiat_amount\":\"90.00\",\"fiat_currency\":\"EUR\"}"));
        on("GET", MercuryoClient.TRANSACTIONS, r -> Answer.ok("{\"items\":[],\"pagination\":{\"limit\":50,\"next_cursor\":null}}"));
        server.start();
    }

    URI baseUri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + PREFIX);
    }

    /** Replaces the route's handler. */
    void on(String method, String path, Function<Request, Answer> handler) {
        routes.put(method + " " + path, handler);
    }

    /** One-shot answers, used in order before the route's handler and before any token check. */
    void script(String method, String path, Answer... answers) {
        scripted.computeIfAbsent(method + " " + path, k -> new ArrayDeque<>()).addAll(List.of(answers));
    }

    /** Seconds put in sign-in answers' {@code timeout}; null leaves the field out, as Mercuryo does. */
    void signInTimeout(Long seconds) {
        signInTimeoutSeconds = seconds;
    }

    /** Every user token issued so far stops working, as after a sign-out or expiry. */
    void revokeUserTokens() {
        validTokens.clear();
    }

    List<Request> requests(String method, String path) {
        return requests.stream().filter(r -> r.method().equals(method) && r.path().equals(path)).toList();
    }

    int count(String method, String path) {
        return requests(method, path).size();
    }

    private Answer signIn(Request request) {
        if (!PARTNER_TOKEN.equals(request.header("Sdk-Partner-Token"))) {
            return Answer.error(401, 401000, "Authorization failed");
        }
        String email = request.body().replaceAll(".*\"email\":\"([^\"]*)\".*", "$1");
        String token = issueToken();
        Long timeout = signInTimeoutSeconds;
        return Answer.ok("{\"bearer_token\":\"" + token + "\","
                + (timeout == null ? "" : "\"timeout\":" + timeout + ",")
                + "\"user_uuid\":\"uuid-" + email + "\"}");
    }

    private Answer refresh(Request request) {
        validTokens.remove(request.header("Sdk-User-Token"));
        return Answer.ok("{\"bearer_token\":\"" + issueToken() + "\",\"timeout\":86400,\"user_uuid\":\"uuid-refreshed\"}");
    }

    private String issueToken() {
        String token = "user-token-" + issued.incrementAndGet();
        validTokens.add(token);
        return token;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getRawPath();
            path = path.startsWith(PREFIX) ? path.substring(PREFIX.length()) : path;
            Request request = new Request(exchange.getRequestMethod(), path, query(exchange.getRequestURI().getRawQuery()),
                    exchange.getRequestHeaders(), new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            requests.add(request);
            respond(exchange, answer(request));
        }
    }

    private Answer answer(Request request) {
        String route = request.method() + " " + request.path();
        Queue<Answer> queue = scripted.get(route);
        if (queue != null) {
            synchronized (queue) {
                Answer next = queue.poll();
                if (next != null) {
                    return next;
                }
            }
        }
        boolean userCall = !request.path().equals(MercuryoClient.SIGN_IN);
        if (userCall && (!validTokens.contains(String.valueOf(request.header("Sdk-User-Token")))
                || request.header("B2B-User-Ip") == null)) {
            return Answer.error(401, 401000, "Authorization failed");
        }
        Function<Request, Answer> handler = routes.get(route);
        if (handler == null && request.path().startsWith(MercuryoClient.SELL_REQUEST)) {
            handler = routes.get(request.method() + " " + MercuryoClient.SELL_REQUEST + "*");
        }
        return handler != null ? handler.apply(request) : Answer.error(405, 405000, "Method Not Allowed");
    }

    private void respond(HttpExchange exchange, Answer answer) throws IOException {
        if (!answer.delay().isZero()) {
            try {
                closing.await(answer.delay().toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type",
                answer.body().startsWith("{") ? "application/json" : "text/html");
        try {
            exchange.sendResponseHeaders(answer.status(), body.length == 0 ? -1 : body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        } catch (IOException e) {
            // the client gave up (timeout): nothing to answer
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> params = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return params;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            params.put(URLDecoder.decode(key, StandardCharsets.UTF_8), URLDecoder.decode(value, StandardCharsets.UTF_8));
        }
        return params;
    }

    @Override
    public void close() {
        closing.countDown();
        server.stop(0);
        handlers.shutdownNow();
    }
}
