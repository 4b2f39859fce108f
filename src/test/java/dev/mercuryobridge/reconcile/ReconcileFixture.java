package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.MercuryoSimulator;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestDatabase;
import dev.mercuryobridge.testing.TestKafka;

import java.util.HashMap;
import java.util.Map;

/** The real service wired to a Mercuryo simulator over real HTTP, on a fresh database. */
final class ReconcileFixture implements AutoCloseable {
    static final String PARTNER_TOKEN = "sim-partner-token";

    final MercuryoSimulator sim;
    final TestApp app;

    private ReconcileFixture(MercuryoSimulator sim, TestApp app) {
        this.sim = sim;
        this.app = app;
    }

    static ReconcileFixture start() {
        return start(Map.of());
    }

    static ReconcileFixture start(Map<String, String> overrides) {
        MercuryoSimulator sim = MercuryoSimulator.start(0, PARTNER_TOKEN);
        return new ReconcileFixture(sim, TestApp.startOn(TestDatabase.freshDatabaseUrl(), env(sim, overrides)));
    }

    /** The environment of an instance that reconciles against the simulator (no scheduled run during a test). */
    static Map<String, String> env(MercuryoSimulator sim, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>(TestApp.kafkaEnv(TestKafka.shared().bootstrapServers()));
        env.put("MERCURYO_API_BASE_URL", sim.baseUrl().toString());
        env.put("MERCURYO_PARTNER_TOKEN", PARTNER_TOKEN);
        env.put("MERCURYO_API_TIMEOUT", "PT2S");
        env.put("RECONCILE_INTERVAL", "PT1H");
        env.put("RECONCILE_GRACE_PERIOD", "PT0S");
        env.putAll(overrides);
        return env;
    }

    /** Registers a card user as the operator does when the user opens their card: e-mail and real IP. */
    void register(CardUserRef user) {
        var response = app.adminJson("PUT", "/api/card-users/" + user.userUuid(),
                "{\"email\":\"" + user.email() + "\",\"ip\":\"" + user.ip() + "\"}");
        if (response.statusCode() != 200) {
            throw new AssertionError("registration answered " + response.statusCode() + ": " + response.body());
        }
    }

    /** Runs a reconciliation to its end through the admin API and returns the run. */
    JsonNode runReconciliation() throws Exception {
        var response = app.admin("POST", "/api/reconciliation/runs?wait=true");
        if (response.statusCode() != 200) {
            throw new AssertionError("run answered " + response.statusCode() + ": " + response.body());
        }
        return Json.MAPPER.readTree(response.body());
    }

    JsonNode get(String path) throws Exception {
        var response = app.admin("GET", path);
        if (response.statusCode() != 200) {
            throw new AssertionError(path + " answered " + response.statusCode() + ": " + response.body());
        }
        return Json.MAPPER.readTree(response.body());
    }

    @Override
    public void close() {
        app.close();
        sim.close();
    }
}
