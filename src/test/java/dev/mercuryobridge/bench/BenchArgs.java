package dev.mercuryobridge.bench;

import java.util.HashMap;
import java.util.Map;

/** A benchmark's {@code name=number} arguments (BENCH_ARGS) over its defaults; a name it doesn't know stops it. */
final class BenchArgs {
    private BenchArgs() {}

    static Map<String, Integer> parse(String benchmark, String[] args, Map<String, Integer> defaults) {
        Map<String, Integer> opts = new HashMap<>(defaults);
        for (String a : args) {
            String[] kv = a.split("=", 2);
            if (kv.length != 2 || !defaults.containsKey(kv[0]) || !kv[1].matches("\\d+")) {
                System.err.println("usage: " + benchmark + " " + String.join(" ", new java.util.TreeMap<>(defaults)
                        .entrySet().stream().map(e -> "[" + e.getKey() + "=" + e.getValue() + "]").toList()) + "; got " + a);
                System.exit(2);
            }
            opts.put(kv[0], Integer.parseInt(kv[1]));
        }
        return opts;
    }
}
