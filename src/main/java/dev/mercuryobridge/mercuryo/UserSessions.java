package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.http.HttpRequest;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * The {@code Sdk-User-Token} of each card user, as the API text describes its lifecycle:
 * <ul>
 *   <li>the first call for a user signs in with {@code POST /sdk-partner/user/sign-in-no-verify}
 *       and the {@code Sdk-Partner-Token};</li>
 *   <li>a token within {@link #REFRESH_MARGIN} of expiry is refreshed with
 *       {@code GET /sdk-partner/user/refresh-token}, sending both tokens; if the refresh fails for
 *       any reason, the user is signed in once instead;</li>
 *   <li>a call answered 401000 (authorization failed) or 400064 (user not found by token) signs
 *       in once and is repeated once.</li>
 * </ul>
 * A sign-in Mercuryo refuses with 403007 (another active transaction) is thrown as it came: the
 * caller tries that user again later. A failed renewal forgets the session, so the next call
 * starts from a fresh sign-in rather than a dead token. Calls for one user never sign in twice at
 * the same time.
 */
final class UserSessions {
    private static final Logger log = LoggerFactory.getLogger(UserSessions.class);

    static final String SIGN_IN = "/sdk-partner/user/sign-in-no-verify";
    static final String REFRESH = "/sdk-partner/user/refresh-token";
    /** Refresh this long before expiry, so a token never dies between our check and Mercuryo's. */
    static final Duration REFRESH_MARGIN = Duration.ofMinutes(5);

    private final MercuryoHttp http;
    private final String partnerToken;
    private final Clock clock;
    private final ConcurrentHashMap<String, Slot> slots = new ConcurrentHashMap<>();

    /** One per user; the lock makes concurrent callers share a sign-in instead of racing. */
    private static final class Slot {
        final ReentrantLock lock = new ReentrantLock();
        volatile UserSession session;
    }

    UserSessions(MercuryoHttp http, String partnerToken, Clock clock) {
        this.http = http;
        this.partnerToken = partnerToken == null ? "" : partnerToken.strip();
        this.clock = clock;
    }

    /** Runs a call with the user's token; on 401000 or 400064, one fresh sign-in and one repeat. */
    <T> T withSession(CardUser user, Function<UserSession, T> call) {
        UserSession session = usable(user);
        try {
            return call.apply(session);
        } catch (MercuryoApiException e) {
            if (!MercuryoErrors.needsSignIn(e.code())) {
                throw e;
            }
            // A token can die before its expiry (a sign-out elsewhere, a revocation): one new
            // sign-in is cheap. A second refusal means something a new token cannot fix.
            log.debug("Mercuryo refused the token of user {} ({}); signing in again", user.userUuid(), e.code());
            return call.apply(replaceRejected(user, session));
        }
    }

    /** The headers every user call carries: the token and the user's real IP. */
    static HttpRequest.Builder authorize(HttpRequest.Builder request, CardUser user, UserSession session) {
        return request.header("Sdk-User-Token", session.token()).header("B2B-User-Ip", user.ip());
    }

    /** Signs the user in (creating the Mercuryo account if new) and caches the session. */
    UserSession signIn(CardUser user) {
        return renewIf(user, current -> true, current -> fetchSignIn(user));
    }

    private Slot slot(CardUser user) {
        return slots.computeIfAbsent(user.email(), email -> new Slot());
    }

    private UserSession usable(CardUser user) {
        UserSession current = slot(user).session;
        if (current != null && !current.expiresWithin(REFRESH_MARGIN, clock.instant())) {
            return current;
        }
        // Under the lock, asked again: another thread may have renewed it while we waited.
        return renewIf(user, c -> c == null || c.expiresWithin(REFRESH_MARGIN, clock.instant()),
                c -> c == null ? fetchSignIn(user) : refreshOrSignIn(user, c));
    }

    /**
     * Under the user's lock: when {@code stale} says so of the cached session (null when there is
     * none), replaces it with what {@code renew} makes of it. The cache is emptied first, so a
     * failed renewal leaves no dead token behind.
     */
    private UserSession renewIf(CardUser user, Predicate<UserSession> stale, UnaryOperator<UserSession> renew) {
        Slot slot = slot(user);
        slot.lock.lock();
        try {
            UserSession current = slot.session;
            if (stale.test(current)) {
                slot.session = null;
                slot.session = renew.apply(current);
            }
            return slot.session;
        } finally {
            slot.lock.unlock();
        }
    }

    private UserSession refreshOrSignIn(CardUser user, UserSession expiring) {
        try {
            return fetchRefresh(user, expiring);
        } catch (MercuryoProtocolException e) {
            throw e;   // not Mercuryo answering: a sign-in would meet the same
        } catch (RuntimeException e) {
            log.debug("refreshing the token of user {} failed ({}); signing in again", user.userUuid(), e.getMessage());
            return fetchSignIn(user);
        }
    }

    /**
     * Replaces a session Mercuryo rejected. If another thread already replaced it, that newer
     * session is used instead of signing in a second time.
     */
    private UserSession replaceRejected(CardUser user, UserSession rejected) {
        return renewIf(user, c -> c == null || c.token().equals(rejected.token()), c -> fetchSignIn(user));
    }

    private UserSession fetchSignIn(CardUser user) {
        if (partnerToken.isEmpty()) {
            throw new IllegalStateException("no Mercuryo partner token is configured: users cannot be signed in");
        }
        byte[] body;
        try {
            // The user accepted Mercuryo's Terms of Service when they registered for the card with
            // the operator; only registered card users are ever signed in (see Reconciler).
            body = Json.MAPPER.writeValueAsBytes(new SignIn(true, user.email()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        HttpRequest request = http.request(SIGN_IN)
                .header("Sdk-Partner-Token", partnerToken)
                .header("B2B-User-Ip", user.ip())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        log.debug("signing in Mercuryo user {}", user.userUuid());
        return http.call(request, this::session);
    }

    private UserSession fetchRefresh(CardUser user, UserSession session) {
        log.debug("refreshing the Mercuryo token of user {}, expiring at {}", user.userUuid(), session.expiresAt());
        HttpRequest request = authorize(http.request(REFRESH), user, session)
                .header("Sdk-Partner-Token", partnerToken)
                .GET()
                .build();
        return http.call(request, this::session);
    }

    private UserSession session(JsonNode data) {
        return UserSession.from(data, clock.instant());
    }

    private record SignIn(boolean accept, String email) {}
}
