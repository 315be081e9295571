// The process implements its contract: its records, params, results and events are
// ProblemProtocol's, and code using this module sees them too.
@_exported import ProblemProtocol
