package dev.mercuryobridge.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The podman command line, each call bounded in time. Settings come from the environment
 * ({@code CONTAINERS_CONF}, set by the Makefile); the OCI runtime is named on every run as these
 * machines need Debian's runc.
 */
final class Podman {
    static final String RUNTIME = "/usr/sbin/runc";

    record Result(int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }

        String describe() {
            return "exit " + exitCode + (stderr.isBlank() ? "" : ": " + stderr.strip());
        }
    }

    private Podman() {}

    /** Runs {@code podman args...} with extra environment variables; waits at most the timeout. */
    static Result run(Duration timeout, Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>();
        command.add("podman");
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("could not run podman (is it installed? apt-get install podman runc)", e);
        }
        // Both streams are read while the process runs, so a chatty command cannot block on a full pipe.
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                throw new IllegalStateException("podman " + String.join(" ", args) + " did not finish within " + timeout);
            }
            return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running podman " + args[0], e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("could not read the output of podman " + args[0], e);
        }
    }

    static Result run(Duration timeout, String... args) {
        return run(timeout, Map.of(), args);
    }

    /** Like {@link #run} but the command must succeed; returns its standard output, trimmed. */
    static String check(Duration timeout, String... args) {
        Result r = run(timeout, args);
        if (!r.ok()) {
            throw new IllegalStateException("podman " + String.join(" ", args) + " failed, " + r.describe());
        }
        return r.stdout().strip();
    }

    private static String read(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
