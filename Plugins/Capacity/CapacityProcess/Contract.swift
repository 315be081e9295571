// The process implements its contract: the samples it takes are CapacityProtocol's, and code
// using this module sees them too.
@_exported import CapacityProtocol
