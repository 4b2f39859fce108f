package dev.mercuryobridge.ingest;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code callback_default_partition_rows}: rows in the raw callback table's default partition.
 * The service creates monthly partitions ahead of time, so this is 0 unless that upkeep failed;
 * rows there make dropping old months slow and block creating the partition they belong to.
 * NaN while the database cannot be read.
 */
public final class CallbackPartitionMetrics implements MeterBinder {
    private static final Logger log = LoggerFactory.getLogger(CallbackPartitionMetrics.class);
    static final String DEFAULT_PARTITION = "callback_default";

    private final DSLContext dsl;
    private volatile boolean failing;

    public CallbackPartitionMetrics(DSLContext dsl) {
        this.dsl = dsl;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("callback.default.partition.rows", this, CallbackPartitionMetrics::defaultPartitionRows)
                .description("Rows in the default partition of the raw callback table (0 while partitions are kept ahead)")
                .register(registry);
    }

    double defaultPartitionRows() {
        try {
            int rows = dsl.fetchCount(DSL.table(DSL.name(DEFAULT_PARTITION)));
            failing = false;
            return rows;
        } catch (DataAccessException e) {
            // NaN tells the scraper "unknown"; the database's own alerts say why. Logged once per outage.
            if (!failing) {
                log.warn("cannot count the rows of {}, reporting NaN: {}", DEFAULT_PARTITION, e.getMessage());
            }
            failing = true;
            return Double.NaN;
        }
    }
}
