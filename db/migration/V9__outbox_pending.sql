-- Which outbox rows are still to be published: a narrow table of their ids, filled by a trigger
-- in the transaction that appends them, and emptied by the relay's marks (a delete).
--
-- Before, marking a row published updated it (published_at): a new version of the whole row,
-- payload included, with new entries in every index of the table (the unpublished-rows partial
-- index counts published_at as indexed, so the update could never be HOT). That cost 33-41 µs a
-- row and bounded how fast the relay drained a backlog. Deleting an id from this table writes
-- only the deleted tuple's header.
--
-- A row is published exactly when its id is not here. When it was published is no longer kept
-- on the row: Kafka's record timestamp says it, and retention keeps published rows by the time
-- they were created (see Outbox.purgePublished).
create table outbox_pending (
    id bigint primary key
) with (
    -- A queue: every row is deleted soon after it is inserted. Vacuum it by the number of dead
    -- rows, not by a fraction of a table that is usually almost empty.
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 10000
);

insert into outbox_pending (id) select id from outbox where published_at is null;

-- One call per statement, over the rows it inserted (a conflicting row, not inserted, is not
-- among them). Every writer of the outbox gets it, whatever its SQL.
create function outbox_pending_add() returns trigger
    language plpgsql as $$
begin
    insert into outbox_pending (id) select id from added;
    return null;
end $$;

create trigger outbox_pending_add after insert on outbox
    referencing new table as added
    for each statement execute function outbox_pending_add();

-- Deleting an outbox row that is still to be published (by hand: retention never does) takes
-- its id with it, rather than leaving an id the relay would read and never find. A trigger and
-- not a foreign key: the key's check on every insert doubled the cost of appending a row
-- (16 µs a row more, measured on 100,000 rows), and the callback path appends on every commit.
create function outbox_pending_remove() returns trigger
    language plpgsql as $$
begin
    delete from outbox_pending p using removed r where p.id = r.id;
    return null;
end $$;

create trigger outbox_pending_remove after delete on outbox
    referencing old table as removed
    for each statement execute function outbox_pending_remove();

drop index outbox_unpublished;
alter table outbox drop column published_at;
