import Foundation
import Yams

extension NodeReader {
    /// The gateway section; its template must exist on this machine, since every render reads it.
    func gateway(_ node: Node, defaults: SettingsLayer, localPaths: LocalPaths) -> GatewaySettings? {
        guard let fields = mapping(node, "gateway", allowed: ["host", "config_path", "template", "maintenance_page", "access_log"]) else { return nil }
        if !fields.has("host") { missing("host", in: fields, "the nginx machine: `host: { name: gateway, address: 203.0.113.5 }`") }
        if !fields.has("config_path") { missing("config_path", in: fields, "where nginx reads the rendered file, e.g. `/etc/nginx/conf.d/openclaw.conf`") }
        if !fields.has("template") { missing("template", in: fields, "the nginx template file, e.g. `templates/nginx-gateway.conf.mustache`") }

        let host = fields["host"].flatMap { gatewayHost($0, defaults: defaults, localPaths: localPaths) }
        let configPath = fields["config_path"].flatMap {
            string($0, fields.path("config_path"), rule: { RemoteValueRules.remotePath($0, allowHome: false) })
        }
        var templatePath = fields["template"].flatMap { localPath($0, fields.path("template"), localPaths) }
        if let path = templatePath, !isReadableFile(path) {
            error(at: fields.keyMark("template"), "`gateway.template`: template file `\(path)` does not exist; create it or fix the path (a relative path is resolved against the inventory's directory)")
            templatePath = nil
        }
        var maintenancePagePath = fields["maintenance_page"].flatMap { localPath($0, fields.path("maintenance_page"), localPaths) }
        if let path = maintenancePagePath, !isReadableFile(path) {
            error(at: fields.keyMark("maintenance_page"), "`gateway.maintenance_page`: template file `\(path)` does not exist; create it, fix the path (a relative path is resolved against the inventory's directory) or remove the key to use the built-in page")
            maintenancePagePath = nil
        }
        // Written into the nginx config as one word: no blank, quote, `;`, brace or `$`.
        let accessLog = fields["access_log"].flatMap {
            string($0, fields.path("access_log"), rule: { text in
                RemoteValueRules.remotePath(text, allowHome: false)
                    ?? (text.contains(where: { " \t\"';{}$\\#".contains($0) }) ? "it may not contain blanks, quotes, `;`, braces, `$`, `\\` or `#`" : nil)
            })
        }
        guard let host, let configPath, let templatePath else { return nil }
        if fields.has("access_log"), accessLog == nil { return nil }
        return GatewaySettings(host: host, configPath: configPath, templatePath: templatePath,
                               maintenancePagePath: maintenancePagePath, accessLogPath: accessLog ?? GatewaySettings.defaultAccessLog)
    }

    private func gatewayHost(_ node: Node, defaults: SettingsLayer, localPaths: LocalPaths) -> Endpoint? {
        guard let fields = mapping(node, "gateway.host", allowed: ["name", "address", "ssh"]) else { return nil }
        if !fields.has("name") { missing("name", in: fields, "a name for the gateway machine, e.g. `gateway`") }
        if !fields.has("address") { missing("address", in: fields, "the IP address or DNS name to connect to") }
        let name = fields["name"].flatMap { string($0, fields.path("name"), rule: RemoteValueRules.name) }
        let address = fields["address"].flatMap { addressValue($0, fields.path("address")) }
        var ssh = defaults.ssh
        if let node = fields["ssh"] { ssh = ssh.overridden(by: sshLayer(node, fields.path("ssh"), localPaths: localPaths)) }
        guard let name, let address, let settings = ssh.resolved(localPaths: localPaths) else { return nil }
        return Endpoint(name: name, address: address, ssh: settings)
    }

    private func isReadableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}
