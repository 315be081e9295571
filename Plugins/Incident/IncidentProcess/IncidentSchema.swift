import ITSMPostgres

/// The `incident` schema's migrations. Released migrations are never edited: add a new one.
public enum IncidentSchema {
    public static let name = "incident"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "incidents and history", sql: """
            CREATE SCHEMA incident;
            CREATE SEQUENCE incident.incident_number_seq;
            CREATE SEQUENCE incident.request_number_seq;
            CREATE TABLE incident.incident (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE,
                type text NOT NULL CHECK (type IN ('incident', 'request')),
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
                description text NOT NULL DEFAULT '',
                caller text,
                service text,
                ci text,
                category text,
                subcategory text,
                impact smallint NOT NULL CHECK (impact BETWEEN 1 AND 3),
                urgency smallint NOT NULL CHECK (urgency BETWEEN 1 AND 3),
                priority smallint NOT NULL CHECK (priority BETWEEN 1 AND 5),
                status text NOT NULL DEFAULT 'new',
                assignment_group text,
                assignee text,
                idempotency_key text UNIQUE,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX incident_open_by_priority ON incident.incident (status, priority, created_at DESC);
            CREATE INDEX incident_newest ON incident.incident (created_at DESC, id DESC);
            CREATE INDEX incident_assignee ON incident.incident (assignee) WHERE assignee IS NOT NULL;
            CREATE TABLE incident.history (
                id bigserial PRIMARY KEY,
                incident_id uuid NOT NULL REFERENCES incident.incident (id),
                at timestamptz NOT NULL DEFAULT now(),
                actor text NOT NULL,
                field text NOT NULL,
                old_value text,
                new_value text
            );
            CREATE INDEX history_by_incident ON incident.history (incident_id, id);
            -- History is evidence: it is appended to, never changed.
            CREATE FUNCTION incident.history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'incident.history is append-only';
            END $$;
            CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON incident.history
                FOR EACH ROW EXECUTE FUNCTION incident.history_is_append_only();
            """),
        Migration(version: 2, name: "lifecycle, holds, comments", sql: """
            ALTER TABLE incident.incident
                ADD CONSTRAINT incident_status_known
                    CHECK (status IN ('new', 'assigned', 'in_progress', 'on_hold', 'resolved', 'closed', 'cancelled')),
                ADD COLUMN hold_reason text
                    CHECK (hold_reason IN ('awaiting_caller', 'awaiting_supplier', 'awaiting_change')),
                ADD COLUMN supplier text,
                ADD COLUMN resolution_code text,
                ADD COLUMN resolution_notes text,
                ADD COLUMN resolved_at timestamptz,
                ADD COLUMN closed_at timestamptz,
                ADD COLUMN reopen_count integer NOT NULL DEFAULT 0;
            -- Periods on hold, for the SLA clock: open while ended_at is NULL.
            CREATE TABLE incident.hold_period (
                incident_id uuid NOT NULL REFERENCES incident.incident (id),
                started_at timestamptz NOT NULL,
                ended_at timestamptz,
                reason text NOT NULL,
                PRIMARY KEY (incident_id, started_at)
            );
            CREATE UNIQUE INDEX hold_period_one_open ON incident.hold_period (incident_id) WHERE ended_at IS NULL;
            -- Work notes are for the service desk; customer comments are visible to the caller.
            CREATE TABLE incident.comment (
                id bigserial PRIMARY KEY,
                incident_id uuid NOT NULL REFERENCES incident.incident (id),
                at timestamptz NOT NULL DEFAULT now(),
                author text NOT NULL,
                visibility text NOT NULL CHECK (visibility IN ('work_note', 'customer')),
                body text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000)
            );
            CREATE INDEX comment_by_incident ON incident.comment (incident_id, id);
            """),
        Migration(version: 3, name: "service levels", sql: """
            CREATE TABLE incident.sla_definition (
                id bigserial PRIMARY KEY,
                service text, -- NULL: every service without a definition of its own
                priority smallint NOT NULL CHECK (priority BETWEEN 1 AND 5),
                response_minutes integer NOT NULL CHECK (response_minutes > 0),
                resolution_minutes integer NOT NULL CHECK (resolution_minutes > 0),
                warning_percent integer NOT NULL DEFAULT 75 CHECK (warning_percent BETWEEN 1 AND 99),
                calendar jsonb NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE UNIQUE INDEX sla_definition_per_service_priority ON incident.sla_definition (coalesce(service, ''), priority);
            -- One clock per record and kind. warning_at and due_at are precomputed (NULL while
            -- stopped or paused) so finding what is due is an index scan; warned_at and
            -- breached_at record that the event was published, which happens once.
            CREATE TABLE incident.sla_clock (
                incident_id uuid NOT NULL REFERENCES incident.incident (id),
                kind text NOT NULL CHECK (kind IN ('response', 'resolution')),
                definition_id bigint NOT NULL REFERENCES incident.sla_definition (id),
                target_minutes integer NOT NULL,
                warning_percent integer NOT NULL,
                started_at timestamptz NOT NULL,
                stopped_at timestamptz,
                warning_at timestamptz,
                due_at timestamptz,
                warned_at timestamptz,
                breached_at timestamptz,
                PRIMARY KEY (incident_id, kind)
            );
            CREATE INDEX sla_clock_warning_due ON incident.sla_clock (warning_at) WHERE warned_at IS NULL AND stopped_at IS NULL;
            CREATE INDEX sla_clock_breach_due ON incident.sla_clock (due_at) WHERE breached_at IS NULL AND stopped_at IS NULL;
            """),
        Migration(version: 4, name: "major incidents, escalation, relations", sql: """
            ALTER TABLE incident.incident
                ADD COLUMN major boolean NOT NULL DEFAULT false,
                ADD COLUMN major_declared_by text,
                ADD COLUMN major_declared_at timestamptz,
                ADD COLUMN major_reason text,
                ADD COLUMN escalation_level integer NOT NULL DEFAULT 0,
                ADD COLUMN parent_id uuid REFERENCES incident.incident (id),
                ADD COLUMN duplicate_of uuid REFERENCES incident.incident (id),
                ADD COLUMN problem_ref text,
                ADD COLUMN known_error_ref text,
                ADD CONSTRAINT incident_not_own_parent CHECK (parent_id <> id AND duplicate_of <> id);
            CREATE INDEX incident_children ON incident.incident (parent_id) WHERE parent_id IS NOT NULL;
            CREATE INDEX incident_major_open ON incident.incident (major_declared_at) WHERE major;
            -- The post-incident review a major incident needs before it can close.
            CREATE TABLE incident.review (
                incident_id uuid PRIMARY KEY REFERENCES incident.incident (id),
                summary text NOT NULL CHECK (length(summary) BETWEEN 1 AND 20000),
                root_cause text,
                actions text[] NOT NULL DEFAULT '{}',
                lessons_learned text,
                reviewed_by text NOT NULL,
                reviewed_at timestamptz NOT NULL
            );
            """),
        Migration(version: 5, name: "search and statistics", sql: """
            ALTER TABLE incident.incident ADD COLUMN search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
                setweight(to_tsvector('english', coalesce(description, '')), 'B') ||
                setweight(to_tsvector('english', coalesce(resolution_notes, '')), 'C')
            ) STORED;
            CREATE INDEX incident_search ON incident.incident USING gin (search);
            CREATE INDEX comment_search ON incident.comment USING gin (to_tsvector('english', body));
            CREATE INDEX incident_resolved ON incident.incident (resolved_at) WHERE resolved_at IS NOT NULL;
            CREATE INDEX incident_created_at ON incident.incident (created_at);
            -- Whether a stopped clock met its target, recorded when it stops, for compliance figures.
            ALTER TABLE incident.sla_clock ADD COLUMN met boolean;
            """),
        Migration(version: 6, name: "imports", sql: """
            -- The number a record had in the tool it was imported from.
            ALTER TABLE incident.incident ADD COLUMN external_ref text;
            CREATE INDEX incident_external_ref ON incident.incident (external_ref) WHERE external_ref IS NOT NULL;
            -- An import is staged row by row, then committed at once: all or nothing.
            CREATE TABLE incident.import_batch (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                columns text[] NOT NULL,
                options jsonb NOT NULL,
                status text NOT NULL DEFAULT 'staging' CHECK (status IN ('staging', 'committed', 'rejected')),
                staged integer NOT NULL DEFAULT 0,
                imported integer,
                rejected integer,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz
            );
            CREATE TABLE incident.import_row (
                import_id uuid NOT NULL REFERENCES incident.import_batch (id) ON DELETE CASCADE,
                row_number integer NOT NULL,
                cells text[] NOT NULL,
                PRIMARY KEY (import_id, row_number)
            );
            """),
        Migration(version: 7, name: "indexes for list sort orders", sql: """
            -- incident.list sorts by one of these with number breaking ties; each order needs
            -- its own index, or PostgreSQL sorts the whole table for a page of 50.
            DROP INDEX incident.incident_newest;
            CREATE INDEX incident_by_created ON incident.incident (created_at, number);
            CREATE INDEX incident_by_updated ON incident.incident (updated_at, number);
            CREATE INDEX incident_by_priority ON incident.incident (priority, number);
            """),
        Migration(version: 8, name: "known errors learned from the problem process", sql: """
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            -- A copy of each published known error, from problem.known_error_published events,
            -- so matching at create time needs no call to another process.
            CREATE TABLE incident.known_error (
                number text PRIMARY KEY,
                problem text NOT NULL,
                title text NOT NULL,
                symptoms text NOT NULL,
                workaround text NOT NULL,
                services text[] NOT NULL DEFAULT '{}',
                cis text[] NOT NULL DEFAULT '{}',
                category text,
                published_at timestamptz NOT NULL
            );
            CREATE INDEX incident_open_title_trgm ON incident.incident USING gin (title gin_trgm_ops)
                WHERE status NOT IN ('resolved', 'closed', 'cancelled');
            """),
        Migration(version: 9, name: "service levels that follow their definition", sql: """
            -- Imported records run no clocks: marked here, not guessed from external_ref.
            ALTER TABLE incident.incident ADD COLUMN imported_at timestamptz;
            UPDATE incident.incident i SET imported_at = h.at FROM incident.history h
                WHERE h.incident_id = i.id AND h.field = 'imported';
            -- Clocks an imported record was given by an edit measured history it never had.
            DELETE FROM incident.sla_clock c USING incident.incident i WHERE c.incident_id = i.id AND i.imported_at IS NOT NULL;
            -- Each clock keeps the calendar it is measured on, so a stopped clock keeps its verdict
            -- when its definition's calendar changes later.
            ALTER TABLE incident.sla_clock ADD COLUMN calendar jsonb;
            UPDATE incident.sla_clock c SET calendar = d.calendar FROM incident.sla_definition d WHERE d.id = c.definition_id;
            ALTER TABLE incident.sla_clock ALTER COLUMN calendar SET NOT NULL;
            """),
        Migration(version: 10, name: "changes applied once per idempotency key", sql: """
            -- A change sent with an idempotency key (its sender's, scoped by the coordinator) is
            -- recorded in the transaction that makes it, so a retry, or a resend to another
            -- instance after a lost answer, finds it applied instead of applying it again.
            CREATE TABLE incident.applied_request (
                key text PRIMARY KEY,
                incident_id uuid NOT NULL REFERENCES incident.incident (id),
                comment_id bigint REFERENCES incident.comment (id),
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """),
        Migration(version: 11, name: "customers and their agreements, learned from the service process", sql: """
            -- Who speaks for which customer, from the service process's customer.changed.
            CREATE TABLE incident.customer_contact (
                account text PRIMARY KEY,
                customer text NOT NULL
            );
            -- The customer a record is for, as it was when its caller was set: the agreement that
            -- measures it and the report that counts it follow this, not later moves.
            ALTER TABLE incident.incident ADD COLUMN customer text;
            CREATE INDEX incident_customer_created ON incident.incident (customer, created_at) WHERE customer IS NOT NULL;
            CREATE FUNCTION incident.set_customer() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.customer := (SELECT customer FROM incident.customer_contact WHERE account = NEW.caller);
                RETURN NEW;
            END $$;
            CREATE TRIGGER incident_customer BEFORE INSERT OR UPDATE OF caller ON incident.incident
                FOR EACH ROW EXECUTE FUNCTION incident.set_customer();
            -- An agreement's targets are definitions for its customer and service, in force for its
            -- period; they win over the service's and the default ones. They are switched off, not
            -- removed, when the agreement changes, since clocks name the definition they ran on.
            ALTER TABLE incident.sla_definition
                ADD COLUMN customer text,
                ADD COLUMN agreement text,
                ADD COLUMN valid_from date,
                ADD COLUMN valid_to date,
                ADD COLUMN active boolean NOT NULL DEFAULT true;
            DROP INDEX incident.sla_definition_per_service_priority;
            CREATE UNIQUE INDEX sla_definition_per_agreement_service_priority
                ON incident.sla_definition (coalesce(agreement, ''), coalesce(service, ''), priority);
            """),
        Migration(version: 12, name: "the service catalogue, learned from the service process", sql: """
            -- The services of the catalogue, from service.changed. Once there is one, a record
            -- names a service of the catalogue that is not retired.
            CREATE TABLE incident.catalogue_service (
                name text PRIMARY KEY,
                status text NOT NULL
            );
            CREATE UNIQUE INDEX catalogue_service_lower ON incident.catalogue_service (lower(name));
            """),
        Migration(version: 13, name: "an index led by each list filter", sql: """
            -- Each filter of incident.list leads an index that goes on with the default sort
            -- (created_at, number), so a filtered page is one range scan whatever the history's
            -- size; the desk's queues (a status, an assignee, a group) also sort by last change.
            -- A requester's list is their records as caller or reporter.
            DROP INDEX incident.incident_assignee;
            CREATE INDEX incident_list_status ON incident.incident (status, created_at, number);
            CREATE INDEX incident_list_status_updated ON incident.incident (status, updated_at, number);
            CREATE INDEX incident_list_assignee ON incident.incident (assignee, created_at, number) WHERE assignee IS NOT NULL;
            CREATE INDEX incident_list_assignee_updated ON incident.incident (assignee, updated_at, number) WHERE assignee IS NOT NULL;
            CREATE INDEX incident_list_group ON incident.incident (assignment_group, created_at, number)
                WHERE assignment_group IS NOT NULL;
            CREATE INDEX incident_list_group_updated ON incident.incident (assignment_group, updated_at, number)
                WHERE assignment_group IS NOT NULL;
            CREATE INDEX incident_list_priority ON incident.incident (priority, created_at, number);
            CREATE INDEX incident_list_service ON incident.incident (service, created_at, number) WHERE service IS NOT NULL;
            CREATE INDEX incident_list_category ON incident.incident (category, created_at, number) WHERE category IS NOT NULL;
            CREATE INDEX incident_list_ci ON incident.incident (ci, created_at, number) WHERE ci IS NOT NULL;
            CREATE INDEX incident_list_type ON incident.incident (type, created_at, number);
            CREATE INDEX incident_list_caller ON incident.incident (caller, created_at, number) WHERE caller IS NOT NULL;
            CREATE INDEX incident_list_created_by ON incident.incident (created_by, created_at, number);
            CREATE INDEX sla_clock_breached ON incident.sla_clock (incident_id) WHERE breached_at IS NOT NULL;
            """),
        Migration(version: 14, name: "no index another one covers", sql: """
            -- incident_by_created (created_at, number) serves every range and order on created_at
            -- that this one served, and every index is written on every create.
            DROP INDEX incident.incident_created_at;
            """),
        Migration(version: 15, name: "the desk's queues: open, unassigned, at risk, breached", sql: """
            -- The queues sort by the last change; the status list is IncidentStatus.isOpen's.
            CREATE INDEX incident_list_open ON incident.incident (updated_at, number)
                WHERE status IN ('new', 'assigned', 'in_progress', 'on_hold');
            -- The unassigned queue is open records nobody has: both in the predicate, so its page and
            -- its capped count read the index alone.
            CREATE INDEX incident_list_unassigned ON incident.incident (updated_at, number)
                WHERE assignee IS NULL AND status IN ('new', 'assigned', 'in_progress', 'on_hold');
            -- Whether a record is at risk (a running clock warned, not breached) or breached (a
            -- clock breached, running or not) is kept on the record by a trigger on its clocks, so
            -- those queues are a range of a small partial index rather than a join of every such
            -- clock to its record: flat at any size of history. The trigger fires only when a
            -- clock's standing changes (a new clock has none), and its transaction already holds the
            -- record's lock (a change locks the record before its clocks; so does the scan).
            ALTER TABLE incident.incident ADD COLUMN sla_at_risk boolean NOT NULL DEFAULT false,
                                          ADD COLUMN sla_breached boolean NOT NULL DEFAULT false;
            CREATE FUNCTION incident.keep_sla_standing() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                subject uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.incident_id ELSE NEW.incident_id END;
            BEGIN
                UPDATE incident.incident i SET sla_at_risk = s.at_risk, sla_breached = s.breached
                FROM (SELECT coalesce(bool_or(warned_at IS NOT NULL AND breached_at IS NULL AND stopped_at IS NULL), false) AS at_risk,
                             coalesce(bool_or(breached_at IS NOT NULL), false) AS breached
                      FROM incident.sla_clock WHERE incident_id = subject) s
                WHERE i.id = subject AND (i.sla_at_risk, i.sla_breached) IS DISTINCT FROM (s.at_risk, s.breached);
                RETURN NULL;
            END $$;
            CREATE TRIGGER sla_standing_of_a_new_clock AFTER INSERT ON incident.sla_clock FOR EACH ROW
                WHEN (NEW.warned_at IS NOT NULL OR NEW.breached_at IS NOT NULL)
                EXECUTE FUNCTION incident.keep_sla_standing();
            CREATE TRIGGER sla_standing_of_a_changed_clock AFTER UPDATE ON incident.sla_clock FOR EACH ROW
                WHEN ((OLD.warned_at IS NOT NULL AND OLD.breached_at IS NULL AND OLD.stopped_at IS NULL)
                          IS DISTINCT FROM (NEW.warned_at IS NOT NULL AND NEW.breached_at IS NULL AND NEW.stopped_at IS NULL)
                      OR (OLD.breached_at IS NULL) <> (NEW.breached_at IS NULL))
                EXECUTE FUNCTION incident.keep_sla_standing();
            CREATE TRIGGER sla_standing_of_a_removed_clock AFTER DELETE ON incident.sla_clock FOR EACH ROW
                WHEN (OLD.warned_at IS NOT NULL OR OLD.breached_at IS NOT NULL)
                EXECUTE FUNCTION incident.keep_sla_standing();
            UPDATE incident.incident i SET sla_at_risk = true
            WHERE EXISTS (SELECT 1 FROM incident.sla_clock c WHERE c.incident_id = i.id
                          AND c.warned_at IS NOT NULL AND c.breached_at IS NULL AND c.stopped_at IS NULL);
            UPDATE incident.incident i SET sla_breached = true
            WHERE EXISTS (SELECT 1 FROM incident.sla_clock c WHERE c.incident_id = i.id AND c.breached_at IS NOT NULL);
            -- The queues' order (last change) and the API's (creation). The desk's breached queue
            -- is the open records among them: most breached records are long closed.
            CREATE INDEX incident_list_at_risk_updated ON incident.incident (updated_at, number) WHERE sla_at_risk;
            CREATE INDEX incident_list_at_risk ON incident.incident (created_at, number) WHERE sla_at_risk;
            CREATE INDEX incident_list_breached_open ON incident.incident (updated_at, number)
                WHERE sla_breached AND status IN ('new', 'assigned', 'in_progress', 'on_hold');
            CREATE INDEX incident_list_breached ON incident.incident (created_at, number) WHERE sla_breached;
            """),
        // A record's number is made where it is stored, so a create is one statement with its
        // history: the same text for created and imported records, `INC-000001`, `REQ-000042`,
        // wider past a million.
        Migration(version: 16, name: "record numbers made by the database", sql: """
            CREATE FUNCTION incident.next_number(record_type text) RETURNS text LANGUAGE sql AS $$
                SELECT (CASE record_type WHEN 'request' THEN 'REQ-' ELSE 'INC-' END)
                       || (CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END)
                FROM (SELECT nextval(CASE record_type WHEN 'request' THEN 'incident.request_number_seq'
                                                      ELSE 'incident.incident_number_seq' END::regclass) AS n) s
            $$;
            """),
        // History is evidence and is never deleted, so it grows without bound: a month of it is a
        // partition now (UTC, `itsm.ensure_month_partitions`), each with its own small index, and
        // old months can be moved to cheaper storage or archived whole. What was written before
        // stays where it is, as the partition for everything before the next month (no row is
        // copied); months after it are made ahead of time by an hourly job. A row for a month not
        // made yet (a clock far ahead) lands in the default partition and moves into its month
        // when that is made: a history write is never refused.
        Migration(version: 17, name: "history partitioned by month", sql: """
            ALTER TABLE incident.history RENAME TO history_before_partitioning;
            ALTER INDEX incident.history_pkey RENAME TO history_before_partitioning_pkey;
            ALTER INDEX incident.history_by_incident RENAME TO history_before_partitioning_by_incident;
            DROP TRIGGER history_append_only ON incident.history_before_partitioning;
            CREATE TABLE incident.history (LIKE incident.history_before_partitioning INCLUDING DEFAULTS) PARTITION BY RANGE (at);
            ALTER SEQUENCE incident.history_id_seq OWNED BY incident.history.id;
            -- The old table's index and foreign key are taken over as these, not built again.
            ALTER TABLE incident.history ADD FOREIGN KEY (incident_id) REFERENCES incident.incident (id);
            CREATE INDEX history_by_incident ON incident.history (incident_id, id);
            CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON incident.history
                FOR EACH ROW EXECUTE FUNCTION incident.history_is_append_only();
            -- TRUNCATE skips row triggers: it is refused too, on the table and on every month.
            CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON incident.history
                FOR EACH STATEMENT EXECUTE FUNCTION incident.history_is_append_only();
            CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON incident.history_before_partitioning
                FOR EACH STATEMENT EXECUTE FUNCTION incident.history_is_append_only();
            SELECT itsm.attach_as_months_before('incident.history', 'incident.history_before_partitioning', 'at');
            """),
    ]
}
