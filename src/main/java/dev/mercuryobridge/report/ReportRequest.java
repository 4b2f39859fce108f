package dev.mercuryobridge.report;

import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/**
 * What a report covers: whole days from {@code from} to {@code to} inclusive, in a time zone (UTC
 * unless asked otherwise), and the format to write. Validated in one place for the admin API and
 * the command line, which give the same messages.
 */
public record ReportRequest(LocalDate from, LocalDate to, ZoneId zone, Format format) {

    static final int DEFAULT_MAX_DAYS = 366;

    public enum Format {
        CSV("text/csv; charset=utf-8", "csv"),
        JSON("application/json", "json"),
        HTML("text/html; charset=utf-8", "html");

        final String contentType;
        final String extension;

        Format(String contentType, String extension) {
            this.contentType = contentType;
            this.extension = extension;
        }
    }

    /** A request that cannot be served; the message says why, for a 400 or a CLI error. */
    static final class InvalidReportRequest extends RuntimeException {
        InvalidReportRequest(String message) {
            super(message, null, false, false);
        }
    }

    static ReportRequest parse(String from, String to, String format, String zone, int maxDays) {
        LocalDate f = date("from", from);
        LocalDate t = date("to", to);
        if (t.isBefore(f)) {
            throw new InvalidReportRequest("'to' (" + t + ") is before 'from' (" + f + ")");
        }
        long days = ChronoUnit.DAYS.between(f, t) + 1;
        if (days > maxDays) {
            throw new InvalidReportRequest("the period is " + days + " days; at most " + maxDays + " are allowed");
        }
        Format fmt;
        if (format == null || format.isBlank()) {
            throw new InvalidReportRequest("'format' is required: csv, json or html");
        }
        try {
            fmt = Format.valueOf(format.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidReportRequest("unknown format '" + format + "': use csv, json or html");
        }
        ZoneId z;
        try {
            z = zone == null || zone.isBlank() ? ZoneId.of("UTC") : ZoneId.of(zone.trim());
        } catch (DateTimeException e) {
            throw new InvalidReportRequest("unknown time zone '" + zone + "' (use an IANA name such as Europe/Berlin)");
        }
        return new ReportRequest(f, t, z, fmt);
    }

    private static LocalDate date(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidReportRequest("'" + name + "' is required (YYYY-MM-DD)");
        }
        try {
            return LocalDate.parse(value.trim());
        } catch (DateTimeParseException e) {
            throw new InvalidReportRequest("'" + name + "' is not a date YYYY-MM-DD (got '" + value + "')");
        }
    }

    /** Start of the period (inclusive) as an instant. */
    java.time.Instant start() {
        return from.atStartOfDay(zone).toInstant();
    }

    /** End of the period (exclusive): the start of the day after {@code to}. */
    java.time.Instant end() {
        return to.plusDays(1).atStartOfDay(zone).toInstant();
    }
}
