package dev.mercuryobridge.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The test kit's Kafka broker ({@link TestKafka}) in a JVM of its own, for harnesses whose faults
 * must not touch their own process. Clients use a fixed loopback port. The child obeys one
 * command per line on its standard input and answers each on its standard output:
 * {@code stop} shuts the broker down (its log directories and the controller stay, so every
 * message written before is still there after) and {@code start} starts it again. End of input
 * (including the parent dying) closes the broker and ends the child.
 */
public final class KafkaProcess implements AutoCloseable {
    private static final String REPLY = "kafka-process: ";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(120);

    private final Process process;
    private final OutputStream commands;
    private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
    private final int port;
    private final Path log;

    /** The child's side: {@code KafkaProcess <port>}. */
    public static void main(String[] args) throws IOException {
        PrintStream out = System.out;
        try (TestKafka kafka = TestKafka.start(Integer.parseInt(args[0]));
             BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            out.println(REPLY + "ready");
            String line;
            while ((line = in.readLine()) != null && !line.equals("exit")) {
                try {
                    switch (line) {
                        case "stop" -> kafka.stopBroker();
                        case "start" -> kafka.startBroker();
                        default -> throw new IllegalArgumentException("unknown command '" + line + "'");
                    }
                    out.println(REPLY + "done " + line);
                } catch (RuntimeException e) {
                    e.printStackTrace();
                    out.println(REPLY + "failed " + line + ": " + e);
                }
            }
        }
        System.exit(0);   // the broker's own threads may not be daemons
    }

    private KafkaProcess(Process process, int port, Path log) {
        this.process = process;
        this.commands = process.getOutputStream();
        this.port = port;
        this.log = log;
        Thread reader = new Thread(this::readReplies, "kafka-process-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts the child on the given loopback port (its log appended to {@code log}) and waits for the broker. */
    public static KafkaProcess start(int port, Path log) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dlogback.configurationFile=logback-bench.xml",
                "-cp", System.getProperty("java.class.path"), KafkaProcess.class.getName(), String.valueOf(port));
        pb.redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        KafkaProcess kafka = new KafkaProcess(pb.start(), port, log);
        try {
            kafka.await("ready");
        } catch (RuntimeException e) {
            kafka.process.destroyForcibly();
            throw e;
        }
        return kafka;
    }

    public String bootstrapServers() {
        return "localhost:" + port;
    }

    public long pid() {
        return process.pid();
    }

    /** Shuts the broker down; returns when it is down (clients see closed connections). */
    public void stopBroker() throws InterruptedException {
        command("stop");
    }

    /** Starts the broker again; returns when it accepts clients. */
    public void startBroker() throws InterruptedException {
        command("start");
    }

    private void command(String command) throws InterruptedException {
        try {
            commands.write((command + "\n").getBytes(StandardCharsets.UTF_8));
            commands.flush();
        } catch (IOException e) {
            throw new IllegalStateException("the Kafka process does not take commands (see " + log + ")", e);
        }
        await("done " + command);
    }

    private void await(String expected) throws InterruptedException {
        String reply = replies.poll(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (reply == null) {
            throw new IllegalStateException("the Kafka process did not answer '" + expected + "' within "
                    + COMMAND_TIMEOUT.toSeconds() + " s; see " + log);
        }
        if (!reply.equals(expected)) {
            throw new IllegalStateException("the Kafka process answered '" + reply + "' instead of '" + expected
                    + "'; see " + log);
        }
    }

    /** Replies go to the queue, anything else the child prints to its log. */
    private void readReplies() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             Writer other = Files.newBufferedWriter(log, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                     StandardOpenOption.APPEND)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith(REPLY)) {
                    replies.add(line.substring(REPLY.length()));
                } else {
                    other.write(line + "\n");
                    other.flush();
                }
            }
        } catch (IOException e) {
            replies.add("output lost: " + e.getMessage());
        }
        replies.add("exited");
    }

    /** Ends the child (closing the broker), forcibly if it does not end within 30 s. */
    @Override
    public void close() throws InterruptedException {
        try {
            commands.close();
        } catch (IOException e) {
            // already gone: nothing to ask it
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
    }
}
