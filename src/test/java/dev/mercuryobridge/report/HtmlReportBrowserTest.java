package dev.mercuryobridge.report;

import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTML report opened in a real headless browser (Debian's chromium, which .ci/run installs):
 * the figures are read from the DOM the browser built, and the chart is checked in the picture
 * it rendered. Outside CI, a machine without chromium skips this test; in CI it must run.
 */
@EnabledIf(value = "chromiumOrCi", disabledReason = "chromium is not installed (CI installs it)")
class HtmlReportBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    @RegisterExtension
    static final TestApp app = TestApp.perClass();

    /** Chromium is there, or this is CI (which installs it: there the test must run and fail without it). */
    static boolean chromiumOrCi() {
        return "true".equalsIgnoreCase(System.getenv("CI")) || Files.isExecutable(CHROMIUM);
    }

    @BeforeAll
    static void seed() {
        // Today: three transactions, one of them pending, 5 callbacks received.
        app.postCallback(TRANSACTION_PATH, createdNow("h1", "new", now()));
        app.postCallback(TRANSACTION_PATH, createdNow("h1", "paid", now() + 1));
        app.postCallback(TRANSACTION_PATH, createdNow("h2", "paid", now()));
        app.postCallback(TRANSACTION_PATH, createdNow("h3", "pending", now()));
        app.postCallback(TRANSACTION_PATH, createdNow("h3", "pending", now()));
    }

    /** A callback of a transaction Mercuryo created today (the report's period is by creation time). */
    private static String createdNow(String id, String status, long updatedAtTs) {
        return transaction(id, "buy", status, updatedAtTs)
                .replace("\"created_at_ts\":1694071953", "\"created_at_ts\":" + now());
    }

    private static long now() {
        return System.currentTimeMillis() / 1000;
    }

    private static String chromium(Path profile, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + profile));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new String(out, StandardCharsets.UTF_8);
    }

    private static String text(String dom, String id) {
        Matcher m = Pattern.compile("id=\"" + Pattern.quote(id) + "\">([^<]*)<").matcher(dom);
        assertThat(m.find()).as("element #" + id).isTrue();
        return m.group(1);
    }

    @Test
    void rendered_page_shows_the_figures_and_the_chart(@TempDir Path dir) throws Exception {
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        String yesterday = LocalDate.now(ZoneOffset.UTC).minusDays(1).toString();
        var response = app.admin("GET", "/api/reports/reconciliation?from=" + yesterday + "&to=" + today + "&format=html");
        assertThat(response.statusCode()).isEqualTo(200);
        // Self-contained: no script, nothing loaded from elsewhere (the SVG namespace is a name, not a load).
        assertThat(response.body()).doesNotContainPattern("(src|href)\\s*=|url\\(|@import|<script|<link");
        Path page = dir.resolve("report.html");
        Files.writeString(page, response.body());

        String dom = chromium(dir.resolve("profile1"), "--dump-dom", page.toUri().toString());
        assertThat(text(dom, "lines")).isEqualTo("3");
        assertThat(text(dom, "result-matched")).isEqualTo("2");
        assertThat(text(dom, "result-unresolved")).isEqualTo("1");
        assertThat(text(dom, "result-missed_callback")).isEqualTo("0");
        assertThat(text(dom, "callbacks-received")).isEqualTo("5");
        Matcher bars = Pattern.compile("<rect class=\"received\" data-day=\"([^\"]+)\" data-value=\"(\\d+)\"").matcher(dom);
        List<String> days = new ArrayList<>();
        List<String> values = new ArrayList<>();
        while (bars.find()) {
            days.add(bars.group(1));
            values.add(bars.group(2));
        }
        assertThat(days).containsExactly(yesterday, today);
        assertThat(values).containsExactly("0", "5");

        // The chart as drawn: today's received bar is there in its colour, yesterday's is empty.
        Path shot = dir.resolve("report.png");
        chromium(dir.resolve("profile2"), "--window-size=1100,700", "--hide-scrollbars", "--screenshot=" + shot, page.toUri().toString());
        BufferedImage image = ImageIO.read(shot.toFile());
        assertThat(image).isNotNull();
        int barPixels = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                if (Math.abs(((rgb >> 16) & 0xff) - 0x4a) < 8 && Math.abs(((rgb >> 8) & 0xff) - 0x78) < 8
                        && Math.abs((rgb & 0xff) - 0xc2) < 8) {
                    barPixels++;
                }
            }
        }
        // The bar is about 350 x 180 px (plus the legend square): far more than a legend alone.
        assertThat(barPixels).isGreaterThan(10_000);
    }
}
