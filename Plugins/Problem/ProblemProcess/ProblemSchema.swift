import ITSMPostgres

/// The `problem` schema: problems with their history, links to incidents, the known error
/// database, and a projection of incidents built from incident events (the process never
/// reads the incident schema; docs/protocol.md §7).
public enum ProblemSchema {
    public static let name = "problem"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "problems, history, incident links, known errors", sql: """
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE SCHEMA problem;

            CREATE SEQUENCE problem.problem_number;
            CREATE TABLE problem.problem (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'PRB-' || lpad(nextval('problem.problem_number')::text, 6, '0'),
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
                description text NOT NULL DEFAULT '',
                services text[] NOT NULL DEFAULT '{}',
                cis text[] NOT NULL DEFAULT '{}',
                category text,
                impact smallint NOT NULL DEFAULT 2 CHECK (impact BETWEEN 1 AND 3),
                urgency smallint NOT NULL DEFAULT 2 CHECK (urgency BETWEEN 1 AND 3),
                priority smallint NOT NULL CHECK (priority BETWEEN 1 AND 5),
                owner text,
                status text NOT NULL CHECK (status IN
                    ('proposed', 'new', 'under_investigation', 'known_error', 'resolved', 'closed')),
                major boolean NOT NULL DEFAULT false,
                rca_method text,
                rca_findings text,
                cause_category text,
                fix_change text,
                resolution text,
                -- How a proposal was found (ci, service_category, text) and the cluster it stands
                -- for; one active proposal per cluster.
                detection_rule text,
                detection_key text,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                resolved_at timestamptz,
                closed_at timestamptz
            );
            CREATE UNIQUE INDEX problem_active_cluster ON problem.problem (detection_key)
                WHERE detection_key IS NOT NULL AND status NOT IN ('resolved', 'closed');
            CREATE INDEX problem_status ON problem.problem (status, created_at DESC);

            CREATE TABLE problem.history (
                id bigserial PRIMARY KEY,
                problem_id uuid NOT NULL REFERENCES problem.problem (id),
                at timestamptz NOT NULL DEFAULT now(),
                actor text NOT NULL,
                field text NOT NULL,
                old_value text,
                new_value text
            );
            CREATE INDEX history_problem ON problem.history (problem_id, id);
            CREATE FUNCTION problem.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'problem history is append-only';
            END $$;
            CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON problem.history
                FOR EACH ROW EXECUTE FUNCTION problem.refuse_history_change();

            -- What this process knows of incidents, from their events and from incident.get.
            CREATE TABLE problem.incident (
                id uuid PRIMARY KEY,
                number text NOT NULL UNIQUE,
                title text NOT NULL,
                service text,
                ci text,
                category text,
                priority smallint,
                status text NOT NULL,
                opened_at timestamptz NOT NULL,
                resolved_at timestamptz,
                source_updated_at timestamptz NOT NULL
            );
            CREATE INDEX incident_ci ON problem.incident (ci, opened_at) WHERE ci IS NOT NULL;
            CREATE INDEX incident_service_category ON problem.incident (service, category, opened_at)
                WHERE service IS NOT NULL AND category IS NOT NULL;
            CREATE INDEX incident_opened ON problem.incident (opened_at);
            CREATE INDEX incident_title_trgm ON problem.incident USING gin (title gin_trgm_ops);

            -- An incident belongs to at most one problem.
            CREATE TABLE problem.link (
                incident_id uuid PRIMARY KEY REFERENCES problem.incident (id),
                problem_id uuid NOT NULL REFERENCES problem.problem (id),
                how text NOT NULL CHECK (how IN ('manual', 'detected')),
                linked_by text NOT NULL,
                linked_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX link_problem ON problem.link (problem_id);

            CREATE SEQUENCE problem.known_error_number;
            CREATE TABLE problem.known_error (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'KE-' || lpad(nextval('problem.known_error_number')::text, 6, '0'),
                problem_id uuid NOT NULL UNIQUE REFERENCES problem.problem (id),
                title text NOT NULL,
                symptoms text NOT NULL,
                root_cause text NOT NULL,
                workaround text NOT NULL,
                services text[] NOT NULL DEFAULT '{}',
                cis text[] NOT NULL DEFAULT '{}',
                category text,
                published_by text NOT NULL,
                published_at timestamptz NOT NULL DEFAULT now(),
                search tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', title), 'A') ||
                    setweight(to_tsvector('english', symptoms), 'A') ||
                    setweight(to_tsvector('english', root_cause), 'B') ||
                    setweight(to_tsvector('english', workaround), 'C')) STORED
            );
            CREATE INDEX known_error_search ON problem.known_error USING gin (search);
            CREATE INDEX known_error_text_trgm ON problem.known_error USING gin ((title || ' ' || symptoms) gin_trgm_ops);

            CREATE TABLE problem.review (
                problem_id uuid PRIMARY KEY REFERENCES problem.problem (id),
                reviewed_by text NOT NULL,
                reviewed_at timestamptz NOT NULL DEFAULT now(),
                summary text NOT NULL,
                lessons text NOT NULL DEFAULT '',
                actions text[] NOT NULL DEFAULT '{}'
            );
            """),
        // A record's events are numbered in the order its changes committed (the second change
        // waits for the first's row lock before it writes its event); updated_at is when a
        // change's transaction began, in milliseconds in the payload, so two changes can share
        // it, or come in the other order. The projection keeps the newest by event number.
        Migration(version: 2, name: "the incident projection follows the order of events", sql: """
            ALTER TABLE problem.incident ADD COLUMN source_sequence bigint NOT NULL DEFAULT 0;
            """),
        // The text rule looks for titles like the new incident's among those of the window. With
        // a B-tree on the time and a GIN on the title, PostgreSQL read every incident of the
        // window and compared titles one by one (it takes the similarity operator for cheap): 44
        // ms at a week of a million-incident history. One GiST index on both answers the window
        // and the similarity in the same scan, from trigrams kept in the index: 4 ms. It also
        // serves every other query by time, so the two it replaces go.
        Migration(version: 3, name: "recurrence by title: window and similarity in one index", sql: """
            CREATE EXTENSION IF NOT EXISTS btree_gist;
            CREATE INDEX incident_opened_title ON problem.incident USING gist (opened_at, title gist_trgm_ops);
            DROP INDEX problem.incident_opened;
            DROP INDEX problem.incident_title_trgm;
            """),
        Migration(version: 4, name: "problem lists by cursor", sql: """
            -- problem.list pages newest first by (created_at, number), with or without a status.
            CREATE INDEX problem_newest ON problem.problem (created_at, number);
            CREATE INDEX problem_list_status ON problem.problem (status, created_at, number);
            DROP INDEX problem.problem_status;
            """),
    ]
}
