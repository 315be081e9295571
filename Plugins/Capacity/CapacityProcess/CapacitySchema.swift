import ITSMPostgres

/// The `capacity` schema: resources and their metrics with limits and thresholds, raw samples
/// (pruned after a retention), hourly and daily rollups (kept), breaches, forecast notices, and
/// the incident workload of service desk groups.
public enum CapacitySchema {
    public static let name = "capacity"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "resources, metrics, samples, rollups, breaches", sql: """
            CREATE SCHEMA capacity;

            CREATE TABLE capacity.resource (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
                -- technical (a host, a disk, licences) or human (a service desk group)
                kind text NOT NULL DEFAULT 'technical' CHECK (kind IN ('technical', 'human')),
                service text,
                ci text,
                owner text,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );

            CREATE TABLE capacity.metric (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                resource_id uuid NOT NULL REFERENCES capacity.resource (id),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
                unit text NOT NULL,
                capacity_limit double precision NOT NULL,
                warning double precision NOT NULL,
                critical double precision NOT NULL,
                owner text,
                state text NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'warning', 'critical')),
                last_value double precision,
                last_at timestamptz,
                UNIQUE (resource_id, name),
                CHECK (warning <= critical AND critical <= capacity_limit)
            );

            CREATE TABLE capacity.sample (
                metric_id uuid NOT NULL REFERENCES capacity.metric (id),
                at timestamptz NOT NULL,
                value double precision NOT NULL,
                PRIMARY KEY (metric_id, at)
            );
            CREATE INDEX sample_at ON capacity.sample (at);

            CREATE TABLE capacity.rollup (
                metric_id uuid NOT NULL REFERENCES capacity.metric (id),
                granularity text NOT NULL CHECK (granularity IN ('hour', 'day')),
                bucket timestamptz NOT NULL,
                min double precision NOT NULL,
                avg double precision NOT NULL,
                max double precision NOT NULL,
                p95 double precision NOT NULL,
                samples integer NOT NULL,
                PRIMARY KEY (metric_id, granularity, bucket)
            );

            -- A threshold crossed; one open per metric, with the incident opened for it.
            CREATE TABLE capacity.breach (
                id bigserial PRIMARY KEY,
                metric_id uuid NOT NULL REFERENCES capacity.metric (id),
                level text NOT NULL CHECK (level IN ('warning', 'critical')),
                value double precision NOT NULL,
                started_at timestamptz NOT NULL,
                cleared_at timestamptz,
                incident text,
                note text
            );
            CREATE UNIQUE INDEX breach_open ON capacity.breach (metric_id) WHERE cleared_at IS NULL;

            -- The exhaustion date last announced per metric, so a steady forecast is announced once.
            CREATE TABLE capacity.forecast_notice (
                metric_id uuid PRIMARY KEY REFERENCES capacity.metric (id),
                expected date NOT NULL,
                announced_at timestamptz NOT NULL DEFAULT now()
            );

            -- Open incidents per assignment group, from incident events, for human capacity.
            CREATE TABLE capacity.group_workload (
                incident_id uuid PRIMARY KEY,
                assignment_group text,
                open boolean NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE INDEX group_workload_open ON capacity.group_workload (assignment_group) WHERE open;
            """),
        Migration(version: 2, name: "falling metrics, forecasts on peaks, incidents that follow their breach", sql: """
            -- above: usage rising to the limit; below: what is left falling to it (free disk).
            ALTER TABLE capacity.metric
                ADD COLUMN direction text NOT NULL DEFAULT 'above' CHECK (direction IN ('above', 'below')),
                ADD COLUMN forecast_on text CHECK (forecast_on IN ('avg', 'max', 'min', 'p95'));
            ALTER TABLE capacity.metric DROP CONSTRAINT metric_check;
            ALTER TABLE capacity.metric ADD CONSTRAINT metric_thresholds_in_order CHECK (CASE direction
                WHEN 'above' THEN warning <= critical AND critical <= capacity_limit
                ELSE warning >= critical AND critical >= capacity_limit END);
            -- The level the breach's incident was opened or last raised at.
            ALTER TABLE capacity.breach ADD COLUMN incident_level text CHECK (incident_level IN ('warning', 'critical'));
            UPDATE capacity.breach SET incident_level = level WHERE incident IS NOT NULL;
            """),
        // Versions of a record by the number of its event (commit order), not updated_at: two
        // changes can share a millisecond, or begin in the other order (ProblemSchema 2).
        Migration(version: 3, name: "workload follows the order of events", sql: """
            ALTER TABLE capacity.group_workload ADD COLUMN sequence bigint NOT NULL DEFAULT 0;
            """),
        // Recomputing a batch's rollups at once read every sample of each touched day again: up
        // to 1,440 a metric for a batch of twenty minutes' worth. A batch now notes the buckets
        // it touched, and they are recomputed once when read (forecasts, the plan) or by the
        // maintenance job, however many batches touched them in between.
        Migration(version: 4, name: "rollups recomputed when read", sql: """
            CREATE TABLE capacity.rollup_pending (
                metric_id uuid NOT NULL REFERENCES capacity.metric (id),
                granularity text NOT NULL CHECK (granularity IN ('hour', 'day')),
                bucket timestamptz NOT NULL,
                PRIMARY KEY (metric_id, granularity, bucket)
            );
            """),
        // The foreign key checked every sample against its metric, one lookup a row: it made
        // copying a batch in take twice as long as COPY alone (85 against 45 ms for 10,000).
        // Ingestion names only metrics it read, locks them before copying, and metrics are
        // never deleted, so the key guarded nothing the process does not.
        Migration(version: 5, name: "samples without a per-row foreign key check", sql: """
            ALTER TABLE capacity.sample DROP CONSTRAINT sample_metric_id_fkey;
            """),
        // Raw samples pile up by the minute and retention threw them out row by row: a month
        // of them is a partition now, and retention drops the months wholly past it. Partitions
        // are made as samples need them (`ensure_sample_months`, before a batch's transaction);
        // the samples stored so far are moved into theirs.
        Migration(version: 6, name: "samples partitioned by month", sql: """
            ALTER TABLE capacity.sample RENAME TO sample_unpartitioned;
            ALTER INDEX capacity.sample_pkey RENAME TO sample_unpartitioned_pkey;
            ALTER INDEX capacity.sample_at RENAME TO sample_unpartitioned_at;
            CREATE TABLE capacity.sample (
                metric_id uuid NOT NULL,
                at timestamptz NOT NULL,
                value double precision NOT NULL,
                PRIMARY KEY (metric_id, at)
            ) PARTITION BY RANGE (at);
            CREATE INDEX sample_at ON capacity.sample (at);

            -- Makes the month partitions (capacity.sample_YYYY_MM, months in UTC) that `times`
            -- fall in and that do not exist yet. Two callers at once: one makes it, the other
            -- finds it made.
            CREATE FUNCTION capacity.ensure_sample_months(times timestamptz[]) RETURNS void LANGUAGE plpgsql AS $$
            DECLARE
                month timestamp;
                partition text;
            BEGIN
                FOR month IN SELECT DISTINCT date_trunc('month', t AT TIME ZONE 'UTC') FROM unnest(times) AS t LOOP
                    partition := 'sample_' || to_char(month, 'YYYY_MM');
                    CONTINUE WHEN to_regclass('capacity.' || partition) IS NOT NULL;
                    BEGIN
                        EXECUTE format('CREATE TABLE capacity.%I PARTITION OF capacity.sample FOR VALUES FROM (%L) TO (%L)',
                                       partition, month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
                    EXCEPTION WHEN duplicate_table OR unique_violation THEN
                        NULL;
                    END;
                END LOOP;
            END
            $$;

            -- Removes the samples before `cutoff`: months wholly before it are dropped, the month
            -- it falls in is deleted from. Returns how many samples went.
            CREATE FUNCTION capacity.prune_samples(cutoff timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
            DECLARE
                month regclass;
                counted bigint;
                removed bigint := 0;
            BEGIN
                FOR month IN
                    SELECT c.oid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = 'capacity.sample'::regclass
                      AND (to_date(right(c.relname, 7), 'YYYY_MM') + interval '1 month') AT TIME ZONE 'UTC' <= cutoff
                LOOP
                    EXECUTE format('SELECT count(*) FROM %s', month) INTO counted;
                    EXECUTE format('DROP TABLE %s', month);
                    removed := removed + counted;
                END LOOP;
                DELETE FROM capacity.sample WHERE at < cutoff;
                GET DIAGNOSTICS counted = ROW_COUNT;
                RETURN removed + counted;
            END
            $$;

            SELECT capacity.ensure_sample_months(ARRAY(SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM capacity.sample_unpartitioned));
            INSERT INTO capacity.sample (metric_id, at, value) SELECT metric_id, at, value FROM capacity.sample_unpartitioned;
            DROP TABLE capacity.sample_unpartitioned;
            """),
        // A batch of samples older than the retention could find its month dropped between
        // making it and copying into it, or commit between retention's last rollup and its
        // drop and vanish from the rollups. Batches and retention now take turns on the sample
        // table's own lock: a batch holds it in ROW EXCLUSIVE mode from the start of its
        // transaction and checks there that its months are still there (made again if not),
        // retention holds it in SHARE mode while it brings the rollups up to date and drops.
        // Retention leaves an empty month be: it holds nothing, and it may be one a batch has
        // just made and is about to fill, so a batch makes its month at most twice.
        Migration(version: 7, name: "batches and retention take turns on the sample months", sql: """
            CREATE FUNCTION capacity.hold_sample_months(times timestamptz[]) RETURNS boolean LANGUAGE plpgsql AS $$
            BEGIN
                -- Taking the lock also brings this session's view of the partitions up to date.
                LOCK TABLE ONLY capacity.sample IN ROW EXCLUSIVE MODE;
                RETURN NOT EXISTS (
                    SELECT FROM unnest(times) AS t
                    WHERE to_regclass('capacity.sample_' || to_char(t AT TIME ZONE 'UTC', 'YYYY_MM')) IS NULL);
            END
            $$;
            CREATE OR REPLACE FUNCTION capacity.prune_samples(cutoff timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
            DECLARE
                month regclass;
                counted bigint;
                removed bigint := 0;
            BEGIN
                FOR month IN
                    SELECT c.oid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = 'capacity.sample'::regclass
                      AND (to_date(right(c.relname, 7), 'YYYY_MM') + interval '1 month') AT TIME ZONE 'UTC' <= cutoff
                LOOP
                    EXECUTE format('SELECT count(*) FROM %s', month) INTO counted;
                    CONTINUE WHEN counted = 0;
                    EXECUTE format('DROP TABLE %s', month);
                    removed := removed + counted;
                END LOOP;
                DELETE FROM capacity.sample WHERE at < cutoff;
                GET DIAGNOSTICS counted = ROW_COUNT;
                RETURN removed + counted;
            END
            $$;
            """),
    ]
}
