-- Transactional outbox: a row per message, written in the same transaction as the change it
-- announces. The CloudEvent is serialized at write time, so a re-publish after a crash sends the
-- same bytes with the same id. The relay publishes rows in id order and marks them published.
create table outbox (
    id            bigint generated always as identity primary key,
    topic         text        not null,
    message_key   text        not null,
    event_id      text        not null,
    event_type    text        not null,
    payload       bytea       not null,
    created_at    timestamptz not null default clock_timestamp(),
    published_at  timestamptz,
    constraint outbox_event_id unique (event_id)
);

create index outbox_unpublished on outbox (id) where published_at is null;
create index outbox_published_at on outbox (published_at) where published_at is not null;

-- Wakes the relay at commit (NOTIFY is delivered only when the writing transaction commits);
-- the relay also polls, so a lost notification only delays, never loses, a message.
create function outbox_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('outbox', '');
    return null;
end;
$$;

create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify();
