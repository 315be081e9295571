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
    ]
}
