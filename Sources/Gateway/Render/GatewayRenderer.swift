import Commands
import Foundation
import Inventory
import Engine
import Mustache
import Plan

/// Renders the gateway's nginx config from the inventory through the Mustache template it names.
public enum GatewayRenderer {
    /// The config for `inventory`, with the hosts `state` has drained marked `down` and the routes of the services it
    /// has in maintenance answering with their page.
    public static func render(inventory: Inventory, state: GatewayState = GatewayState()) throws -> String {
        guard let gateway = inventory.gateway else {
            throw GatewayError.noGatewaySection(inventory: inventory.sourcePath)
        }
        let layout = try GatewayLayout(inventory: inventory, state: state)
        let template = try loadTemplate(path: gateway.templatePath)
        var pages: [String: String] = [:]
        if layout.upstreams.contains(where: { $0.maintenance != nil }) {
            let pagePath = gateway.maintenancePagePath ?? MaintenancePage.builtInName
            let pageText = try gateway.maintenancePagePath.map(loadTemplate) ?? MaintenancePage.builtIn
            for upstream in layout.upstreams {
                guard let maintenance = upstream.maintenance else { continue }
                pages[upstream.service] = try MaintenancePage.render(templateText: pageText, path: pagePath,
                                                                     service: upstream.service, maintenance: maintenance)
            }
        }
        return try render(layout: layout, gatewayHost: gateway.host.name, templateText: template,
                          templatePath: gateway.templatePath, pages: pages, accessLog: gateway.accessLogPath)
    }

    /// Checks that the template exists and parses, without rendering; what `inventory check` needs.
    public static func validateTemplate(path: String) throws {
        _ = try parse(try loadTemplate(path: path), path: path)
    }

    public static func loadTemplate(path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw GatewayError.templateMissing(path: path) }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw GatewayError.templateUnreadable(path: path, reason: error.localizedDescription)
        }
    }

    /// Renders `layout` through a template given as text; `templatePath` names it in errors.
    /// `pages` holds the maintenance page of each service in maintenance (`MaintenancePage.render`).
    public static func render(layout: GatewayLayout, gatewayHost: String, templateText: String,
                              templatePath: String, pages: [String: String] = [:],
                              accessLog: String = GatewaySettings.defaultAccessLog) throws -> String {
        let template = try parse(templateText, path: templatePath)
        let scope = TemplateData(layout: layout, gatewayHost: gatewayHost, pages: pages, accessLog: accessLog)
        let output = template.render(scope.root)
        if let unknown = scope.log.unknownNames.first {
            throw GatewayError.templateUnknownName(path: templatePath, line: line(of: unknown, in: templateText),
                                                   name: unknown, known: TemplateData.knownNames)
        }
        return output
    }

    static func parse(_ text: String, path: String) throws -> MustacheTemplate {
        do {
            return try MustacheTemplate(string: text)
        } catch let error as MustacheTemplate.ParserError {
            throw GatewayError.templateSyntax(path: path, line: error.context.lineNumber,
                                              column: error.context.columnNumber, problem: problem(error.error))
        }
    }

    private static func problem(_ error: any Error) -> String {
        guard let error = error as? MustacheTemplate.Error else { return String(describing: error) }
        switch error {
        case .sectionCloseNameIncorrect: return "a section is closed with a name other than the one that opened it"
        case .unfinishedName: return "a tag is not closed with `}}`"
        case .expectedSectionEnd: return "a section opened with `{{#name}}` or `{{^name}}` is never closed with `{{/name}}`"
        case .invalidSetDelimiter: return "badly formed set-delimiter tag"
        case .unrecognisedConfigVariable: return "unknown pragma; only `{{% CONTENT_TYPE: TEXT}}` or `HTML` exist"
        default: return String(describing: error)
        }
    }

    /// The first line whose tags mention `name`, 0 if none does (the name came from a dotted path).
    static func line(of name: String, in text: String) -> Int {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var rest = line[...]
            while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
                let words = rest[open.upperBound..<close.lowerBound]
                    .split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
                if words.contains(where: { $0 == name }) { return index + 1 }
                rest = rest[close.upperBound...]
            }
        }
        return 0
    }
}
