package dev.mercuryobridge.report;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;

import static org.assertj.core.api.Assertions.assertThat;

class CsvCellTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"=1+2", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "-5.00"})
    void text_that_starts_like_a_formula_gets_a_leading_quote(String text) {
        assertThat(CsvReport.cell(text)).isEqualTo("'" + text);
    }

    @ParameterizedTest(name = "[{index}] ''{0}''")
    @ValueSource(strings = {"order 42", "a=b", "x-1", "", "'quoted", " =leading space"})
    void other_text_is_written_as_it_is(String text) {
        assertThat(CsvReport.cell(text)).isEqualTo(text);
    }

    @Test
    void numbers_dates_and_times_stay_as_they_are_negative_amounts_included() {
        assertThat(CsvReport.cell(new BigDecimal("-5.00"))).isEqualTo("-5.00");
        assertThat(CsvReport.cell(-3L)).isEqualTo("-3");
        assertThat(CsvReport.cell(new BigDecimal("1E+3"))).isEqualTo("1000");
        assertThat(CsvReport.cell(LocalDate.of(2026, 1, 2))).isEqualTo("2026-01-02");
        assertThat(CsvReport.cell(Instant.parse("2026-01-02T03:04:05Z"))).isEqualTo("2026-01-02T03:04:05Z");
        assertThat(CsvReport.cell(null)).isEmpty();
    }

    @Test
    void html_shows_control_characters_as_replacement_characters() {
        assertThat(HtmlReport.esc("a\u0000b\u0001c\u007fd\u0085e\tf\ng<h>"))
                .isEqualTo("a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\tf\ng&lt;h&gt;");
    }
}
