-- The outbox relay's publishing terms. The advisory lock says who may publish; this row says
-- until when the last publisher may still have messages on their way to Kafka, so that a new
-- publisher never sends while an old one still does (see OutboxRelay and RelaySession).
--
-- term:        increases by one each time a relay starts publishing
-- holder:      who holds the current term (host and process, for operators)
-- lease_until: nothing the term's publisher sends can reach Kafka after this time; it moves it
--              forward while it publishes. The next term starts only after it.
-- released:    the term's publisher stopped and saw every message it sent answered; it then
--              brought lease_until forward to now (plus what a failed send may still take)
create table outbox_relay_term (
    singleton   boolean     primary key default true check (singleton),
    term        bigint      not null,
    holder      text        not null,
    lease_until timestamptz not null,
    released    boolean     not null
);

insert into outbox_relay_term (term, holder, lease_until, released) values (0, 'nobody', '-infinity', true);

-- Marking a row published no longer updates an index on published_at: it cost the relay a
-- third of its marking time. Retention finds old rows by id instead (ids follow time; see
-- Outbox.purgePublished).
drop index outbox_published_at;
