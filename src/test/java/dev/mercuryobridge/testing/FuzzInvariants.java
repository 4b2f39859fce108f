package dev.mercuryobridge.testing;

import org.jooq.DSLContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What must hold in the database whatever was sent: checked over every row after a fuzz run.
 * Each query returns the rows that break the rule, so a failure shows them.
 */
public final class FuzzInvariants {

    private FuzzInvariants() {}

    public static void check(DSLContext dsl, long callbacksSent) {
        assertThat(dsl.fetchValue("select count(*) from callback", Long.class))
                .as("one raw callback row per body answered, none for a body refused with an error").isEqualTo(callbacksSent);

        assertThat(dsl.fetch("""
                select s.transaction_id, s.last_sequence, count(t.id) as transitions, min(t.sequence) as first, max(t.sequence) as last
                  from transaction_state s left join status_transition t on t.transaction_id = s.transaction_id
                 group by s.transaction_id, s.last_sequence
                having count(t.id) <> s.last_sequence or min(t.sequence) <> 1 or max(t.sequence) <> s.last_sequence
                    or count(distinct t.sequence) <> count(t.id)""").stream().toList())
                .as("transition sequences are 1..last_sequence without gaps or repeats").isEmpty();

        assertThat(dsl.fetch("""
                select t.transaction_id, t.sequence, count(o.id) as outbox_rows
                  from status_transition t
                  left join outbox o on o.event_id = 'transaction/' || t.transaction_id || '/' || t.sequence
                 group by t.transaction_id, t.sequence
                having count(o.id) <> 1""").stream().toList())
                .as("exactly one outbox row per transition").isEmpty();
        assertThat(dsl.fetchValue("select count(*) from outbox where event_type = 'mercuryo.transaction.status_changed'", Long.class))
                .as("no outbox row without its transition")
                .isEqualTo(dsl.fetchValue("select count(*) from status_transition", Long.class));

        assertThat(dsl.fetch("""
                select e.event_id, count(o.id) as outbox_rows
                  from spend_card_event e left join outbox o on o.event_id = 'spend-card/' || e.event_id
                 group by e.event_id
                having count(o.id) <> 1""").stream().toList())
                .as("exactly one outbox row per Spend Card event").isEmpty();

        assertThat(dsl.fetch("""
                select c.id, c.outcome, q.id as quarantine_id
                  from callback c left join quarantine q on q.callback_id = c.id
                 where (c.outcome = 'quarantined') <> (q.id is not null)
                    or (q.id is not null and q.body <> c.body)""").stream().toList())
                .as("every quarantined callback, and only those, is in quarantine with its exact body").isEmpty();

        assertThat(dsl.fetch("""
                select c.id from callback c
                 where c.outcome = 'accepted' and c.route = 'transaction'
                   and not exists (select 1 from transaction_event e where e.callback_id = c.id)
                union all
                select c.id from callback c
                 where c.outcome = 'accepted' and c.route = 'spend_card'
                   and not exists (select 1 from spend_card_event e where e.callback_id = c.id)""").stream().toList())
                .as("every accepted callback produced its event").isEmpty();
    }

    /** Bodies by route and outcome, and their sizes: what a run covered. */
    public static String summary(DSLContext dsl) {
        return dsl.fetch("""
                select route, outcome, count(*) as bodies, round(avg(length(body))) as avg_bytes, max(length(body)) as max_bytes
                  from callback group by route, outcome order by route, outcome""").format()
                + "\ntransitions " + dsl.fetchCount(dsl.selectFrom("status_transition"))
                + ", spend card events " + dsl.fetchCount(dsl.selectFrom("spend_card_event"))
                + ", quarantined " + dsl.fetchCount(dsl.selectFrom("quarantine"));
    }
}
