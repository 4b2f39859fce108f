-- Monthly partitions of callback bounded in UTC, whatever the session's time zone.
--
-- V1 wrote each bound as a date ('2025-01-01'), which PostgreSQL turns into a timestamptz in the
-- session's TimeZone, and the JDBC driver sets that to the JVM's zone: a service in another zone
-- made months that start and end at its local midnight. The bounds are now written with an
-- explicit +00 offset. A month next to a partition made the old way starts where that one ends
-- and ends where the next one starts, so old and new partitions live side by side and nothing
-- has to be moved.
--
-- The service calls this for one month per transaction, under a short lock_timeout: creating a
-- partition takes an ACCESS EXCLUSIVE lock on callback, and inserts queue behind it while it waits.
-- A month that exists is skipped before any lock is taken.
create or replace function ensure_callback_partitions(from_month date, months int) returns void
language plpgsql as $$
declare
    m     date;
    part  text;
    lo    timestamptz;
    hi    timestamptz;
    lowers timestamptz[];
    uppers timestamptz[];
begin
    for i in 0 .. months - 1 loop
        m := date_trunc('month', from_month)::date + make_interval(months => i);
        part := 'callback_p' || to_char(m, 'YYYYMM');
        continue when to_regclass(part) is not null;
        lo := m::timestamp at time zone 'UTC';
        hi := (m + interval '1 month')::timestamp at time zone 'UTC';
        -- The bounds of the existing range partitions, from the catalog (no lock on callback).
        select array_agg(b[1]::timestamptz), array_agg(b[2]::timestamptz) into lowers, uppers
          from (select regexp_match(pg_get_expr(c.relpartbound, c.oid), $re$FROM \('([^']+)'\) TO \('([^']+)'\)$re$) as b
                  from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = 'callback'::regclass) p
         where b is not null;
        -- Meet a neighbour made the old way (its bounds up to 14 h off) edge to edge: no overlap,
        -- which PostgreSQL refuses, and no gap, whose rows would fall into the default partition.
        select coalesce(max(u), lo) into lo from unnest(lowers, uppers) as t(l, u)
         where u > lo - interval '1 day' and u < lo + interval '1 day';
        select coalesce(min(l), hi) into hi from unnest(lowers, uppers) as t(l, u)
         where l > hi - interval '1 day' and l < hi + interval '1 day';
        continue when lo >= hi;
        execute format('create table if not exists %I partition of callback for values from (%L) to (%L)',
                       part,
                       to_char(lo at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00',
                       to_char(hi at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00');
    end loop;
end;
$$;
