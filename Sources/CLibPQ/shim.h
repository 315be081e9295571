#ifndef ITSM_CLIBPQ_SHIM_H
#define ITSM_CLIBPQ_SHIM_H

#include <libpq-fe.h>
#include <poll.h>

// libpq's PG_DIAG_* field codes are character macros ('C', 'M', ...) that Swift cannot
// import; re-export the ones we read as constants.
static const int CLIBPQ_DIAG_SEVERITY = PG_DIAG_SEVERITY_NONLOCALIZED;
static const int CLIBPQ_DIAG_SQLSTATE = PG_DIAG_SQLSTATE;
static const int CLIBPQ_DIAG_MESSAGE_PRIMARY = PG_DIAG_MESSAGE_PRIMARY;
static const int CLIBPQ_DIAG_MESSAGE_DETAIL = PG_DIAG_MESSAGE_DETAIL;
static const int CLIBPQ_DIAG_MESSAGE_HINT = PG_DIAG_MESSAGE_HINT;
static const int CLIBPQ_DIAG_SCHEMA_NAME = PG_DIAG_SCHEMA_NAME;
static const int CLIBPQ_DIAG_TABLE_NAME = PG_DIAG_TABLE_NAME;
static const int CLIBPQ_DIAG_COLUMN_NAME = PG_DIAG_COLUMN_NAME;
static const int CLIBPQ_DIAG_CONSTRAINT_NAME = PG_DIAG_CONSTRAINT_NAME;

/// A notice processor that drops server notices instead of printing them to stderr, which
/// belongs to the protocol's log stream in a plugin.
static void clibpq_ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static inline void clibpq_silence_notices(PGconn *conn) {
    PQsetNoticeProcessor(conn, clibpq_ignore_notice, NULL);
}

#endif
