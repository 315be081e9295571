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
    ]
}
