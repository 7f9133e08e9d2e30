import Commands
import Mustache
import Plan
import Engine

/// The page a service's route answers with while it is in maintenance: a Mustache template (`gateway.maintenance_page`,
/// or the built-in one) rendered as HTML, so the operator's message is escaped, then put inside the gateway config.
///
/// Names a page can use: `service`, `message`, `retry_after` (seconds), `since` (ISO 8601), `set_by`.
public enum MaintenancePage {
    public static let builtInName = "the built-in maintenance page"

    public static let builtIn = """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>{{service}}: down for maintenance</title></head>
        <body>
        <h1>Down for maintenance</h1>
        <p>{{message}}</p>
        <p>Please try again in a few minutes.</p>
        </body>
        </html>

        """

    static let knownNames = ["message", "retry_after", "service", "set_by", "since"]

    /// The page for `service`; `path` names the template in errors.
    public static func render(templateText: String, path: String, service: String,
                              maintenance: GatewayState.Maintenance) throws -> String {
        let template = try GatewayRenderer.parse(templateText, path: path)
        let log = TemplateData.LookupLog()
        let scope = TemplateData.Scope(values: [
            "service": service, "message": maintenance.message, "retry_after": maintenance.retryAfterSeconds,
            "since": maintenance.since, "set_by": maintenance.setBy,
        ], log: log)
        let page = template.render(scope)
        if let unknown = log.unknownNames.first {
            throw GatewayError.templateUnknownName(path: path, line: GatewayRenderer.line(of: unknown, in: templateText),
                                                   name: unknown, known: knownNames)
        }
        return page
    }

    /// `text` as it must stand between the double quotes of an nginx directive (`return 503 "..."`): backslashes
    /// and quotes escaped, line ends written as `\n` (nginx reads them back), and `$`, which nginx would read as a
    /// variable and cannot escape, written as the HTML character reference `&#36;`.
    public static func nginxQuoted(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "$": out += "&#36;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
