package dev.mercuryobridge.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestDatabase;
import dev.mercuryobridge.testing.TestKafka;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.HashMap;
import java.util.Map;

/**
 * The real service wired to a Mercuryo simulator over real HTTP, on a fresh database. One for a
 * whole test class: {@code @RegisterExtension static final SimulatedApp f = SimulatedApp.perClass();};
 * one for a single test: {@code try (SimulatedApp own = SimulatedApp.start()) {...}}.
 */
public final class SimulatedApp implements AutoCloseable, BeforeAllCallback, AfterAllCallback {
    public static final String PARTNER_TOKEN = "sim-partner-token";

    private final Map<String, String> overrides;
    private MercuryoSimulator sim;
    private TestApp app;

    private SimulatedApp(Map<String, String> overrides) {
        this.overrides = Map.copyOf(overrides);
    }

    public static SimulatedApp perClass() {
        return perClass(Map.of());
    }

    /** Started before the class's first test (and its {@code @BeforeAll} methods), closed after its last. */
    public static SimulatedApp perClass(Map<String, String> overrides) {
        return new SimulatedApp(overrides);
    }

    public static SimulatedApp start() {
        return start(Map.of());
    }

    public static SimulatedApp start(Map<String, String> overrides) {
        SimulatedApp started = new SimulatedApp(overrides);
        started.open();
        return started;
    }

    private void open() {
        sim = MercuryoSimulator.start(0, PARTNER_TOKEN);
        app = TestApp.startOn(TestDatabase.freshDatabaseUrl(), env(sim, overrides));
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        open();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    public MercuryoSimulator sim() {
        return sim;
    }

    public TestApp app() {
        return app;
    }

    /** The environment of an instance that reconciles against the simulator (no scheduled run during a test). */
    public static Map<String, String> env(MercuryoSimulator sim, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>(TestApp.kafkaEnv(TestKafka.shared().bootstrapServers()));
        env.put("MERCURYO_API_BASE_URL", sim.baseUrl().toString());
        env.put("MERCURYO_PARTNER_TOKEN", PARTNER_TOKEN);
        env.put("MERCURYO_API_TIMEOUT", "PT2S");
        env.put("RECONCILE_INTERVAL", "PT1H");
        env.put("RECONCILE_GRACE_PERIOD", "PT0S");
        env.putAll(overrides);
        return env;
    }

    /** Posts a signed callback; the test fails unless it is answered 200. */
    public void post(String path, String body) {
        var response = app.postCallback(path, body);
        if (response.statusCode() != 200) {
            throw new AssertionError(path + " answered " + response.statusCode() + ": " + response.body());
        }
    }

    /** Registers a card user as the operator does when the user opens their card: e-mail and real IP. */
    public void register(CardUserRef user) {
        var response = app.adminJson("PUT", "/api/card-users/" + user.userUuid(),
                "{\"email\":\"" + user.email() + "\",\"ip\":\"" + user.ip() + "\"}");
        if (response.statusCode() != 200) {
            throw new AssertionError("registration answered " + response.statusCode() + ": " + response.body());
        }
    }

    /** Runs a reconciliation to its end through the admin API and returns the run. */
    public JsonNode runReconciliation() throws Exception {
        var response = app.admin("POST", "/api/reconciliation/runs?wait=true");
        if (response.statusCode() != 200) {
            throw new AssertionError("run answered " + response.statusCode() + ": " + response.body());
        }
        return Json.MAPPER.readTree(response.body());
    }

    public JsonNode get(String path) throws Exception {
        var response = app.admin("GET", path);
        if (response.statusCode() != 200) {
            throw new AssertionError(path + " answered " + response.statusCode() + ": " + response.body());
        }
        return Json.MAPPER.readTree(response.body());
    }

    @Override
    public void close() {
        if (app != null) {
            app.close();
        }
        if (sim != null) {
            sim.close();
        }
    }
}
