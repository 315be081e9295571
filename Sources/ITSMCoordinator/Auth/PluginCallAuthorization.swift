import ITSMProtocol

/// What a plugin may call through the coordinator, and as whom. A call must be declared in the
/// calling instance's manifest (`calls`). Made while handling a request (its `meta.context` names one in
/// flight to this plugin), it runs for that request's principal and needs the callee's
/// permission from them: a plugin never widens its caller's access. Made on its own (events,
/// jobs), it runs as the plugin with the permissions itsm.yaml grants it (`grants`). The
/// callee's records name both: `plugin:change for token:alice`.
enum PluginCallAuthorization {
    static func authorize(_ request: JSONRPCRequest, from instance: any PluginInstance,
                          router: MethodRouter) throws(ResponseError) -> (RequestMeta, (Principal, origin: String)) {
        let plugin = instance.pluginName
        let grants = router.grants(of: plugin)
        guard router.declares(instance, calls: request.method) else {
            throw ResponseError(code: .permissionDenied, kind: "auth.undeclared_call",
                                message: "\(plugin) does not declare calls to \(request.method) in its manifest (calls)")
        }
        let principal: Principal
        let origin: String
        var meta = request.meta ?? RequestMeta()
        if let entry = router.contexts.entry(meta.context, for: plugin) {
            principal = entry.principal
            origin = entry.origin
        } else {
            principal = Principal(name: "plugin:\(plugin)", kind: .plugin, permissions: grants)
            origin = "plugin:\(plugin)"
        }
        meta.actor = actor(of: request, from: instance, router: router)
        meta.context = nil
        if let route = router.route(for: request.method), !principal.allows(route.descriptor.permission) {
            let who = origin == "plugin:\(plugin)" ? "\(plugin) on its own (grants in itsm.yaml)" : "\(origin), for whom \(plugin) calls it,"
            throw ResponseError(code: .permissionDenied, kind: "auth.forbidden",
                                message: "\(who) lacks \(route.descriptor.permission), which \(request.method) needs")
        }
        return (meta, (principal, origin))
    }

    /// How records name a call a plugin makes: `plugin:change for user:alice` while it handles
    /// alice's request (its `meta.context`), `plugin:change` on its own.
    static func actor(of request: JSONRPCRequest, from instance: any PluginInstance, router: MethodRouter) -> String {
        let plugin = instance.pluginName
        return router.contexts.entry(request.meta?.context, for: plugin).map { "plugin:\(plugin) for \($0.origin)" } ?? "plugin:\(plugin)"
    }
}
