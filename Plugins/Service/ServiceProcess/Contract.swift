// The process implements its contract: the catalogue, customers and agreements other processes
// read are ServiceProtocol's, and code using this module sees them too.
@_exported import ServiceProtocol
