// A plugin written with the kit speaks the protocol's types (`JSONValue`, `ResponseError`,
// `EventType`, the schemas): importing the kit imports them.
@_exported import ITSMProtocol
