import Foundation
import Testing

/// README.md is the front door and `docs/` holds a page per subject: every link between them must land on a file
/// that exists and, when it names one, on a heading of that file.
@Suite("documentation: README and docs/ pages")
struct DocsLinkTests {
    static var pages: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: Support.repositoryRoot + "/docs")) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }

    /// GitHub's anchor of a heading: lower case, punctuation other than `-` and `_` dropped, spaces as `-`.
    static func anchor(_ heading: String) -> String {
        String(heading.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || " -_".unicodeScalars.contains($0) }
            .map(Character.init)).replacingOccurrences(of: " ", with: "-")
    }

    /// The anchors of a page's headings (outside code blocks).
    static func anchors(of text: String) -> Set<String> {
        var inCode = false
        var found: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inCode.toggle(); continue }
            guard !inCode, line.hasPrefix("#") else { continue }
            let title = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
            found.insert(anchor(title))
        }
        return found
    }

    /// `(target)` of every `[text](target)` outside code blocks and code spans (a span may run over a line break).
    static func links(in text: String) -> [String] {
        var inCode = false
        var prose: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inCode.toggle(); continue }
            if !inCode { prose.append(line) }
        }
        let spans = try! NSRegularExpression(pattern: "`[^`]*`")
        let joined = prose.joined(separator: "\n")
        let plain = spans.stringByReplacingMatches(in: joined, range: NSRange(joined.startIndex..., in: joined), withTemplate: " ")
        let pattern = try! NSRegularExpression(pattern: #"\[[^\]]+\]\(([^)\s]+)\)"#)
        return pattern.matches(in: plain, range: NSRange(plain.startIndex..., in: plain)).map {
            String(plain[Range($0.range(at: 1), in: plain)!])
        }
    }

    @Test("README stays a front door: under 250 lines, linking every docs/ page")
    func readmeIsShortAndLinksEveryPage() throws {
        let readme = try String(contentsOfFile: Support.repositoryRoot + "/README.md", encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(lines < 250, "README.md has \(lines) lines")
        let linked = Set(Self.links(in: readme).map { $0.split(separator: "#").first.map(String.init) ?? $0 })
        for page in Self.pages where page != "README.md" {
            #expect(linked.contains(page), "README.md does not link \(page)")
        }
        #expect(Self.pages.count >= 10, "the docs/ pages: \(Self.pages)")
    }

    @Test("every relative link lands on a file that exists, and on a heading when it names one")
    func everyLinkLands() throws {
        var checked = 0
        for page in Self.pages {
            let text = try String(contentsOfFile: Support.repositoryRoot + "/" + page, encoding: .utf8)
            let directory = (page as NSString).deletingLastPathComponent
            for target in Self.links(in: text) where !target.contains("://") && !target.hasPrefix("mailto:") {
                checked += 1
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let file = parts[0].isEmpty ? page : ((directory as NSString).appendingPathComponent(parts[0]) as NSString).standardizingPath
                let path = Support.repositoryRoot + "/" + file
                #expect(FileManager.default.fileExists(atPath: path), "\(page): the link \(target) names \(file), which does not exist")
                guard parts.count == 2, file.hasSuffix(".md"), let linked = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
                #expect(Self.anchors(of: linked).contains(parts[1]), "\(page): the link \(target) names no heading of \(file)")
            }
        }
        #expect(checked > 20, "only \(checked) links were found")
    }

    @Test("the anchor of a heading is GitHub's")
    func anchors() {
        #expect(Self.anchor("Example: a failed release rolled back") == "example-a-failed-release-rolled-back")
        #expect(Self.anchor("Capacity, watch and traffic") == "capacity-watch-and-traffic")
        #expect(Self.anchor("Schema (`version: 1`)") == "schema-version-1")
    }
}
