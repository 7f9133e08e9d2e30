import Commands
import ShellWords
import Inventory
import Plan
import Engine
import Testing
import TestSupport

@Suite("Quoting and ref validation")
struct QuotingTests {
    @Test("refs git would misread, or a shell would run, are refused", arguments: [
        "--upload-pack=x", "-x", "a;b", "$(x)", "`x`", "..", "a..b", "@{u}", "main@{1}", "", "@",
        "topic.lock", "a/b.lock/c", "a\u{01}b", "a\nb", "a\u{7F}", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[1]",
        "a\\b", "/a", "a/", "a//b", "a.", ".hidden", "a/.b", "a'b", "a\"b", "a|b", "a&b", "a>b", "ünï",
    ])
    func refused(_ text: String) {
        #expect(throws: RefusedRef.self) { try GitRef(validating: text) }
    }

    @Test("branches, tags and SHAs are accepted", arguments: [
        "main", "release/2026-11", "v1.2.0", "feature/x_y+z", "HEAD", "abcd", "0123456789abcdef0123456789abcdef01234567",
        "ABCDEF12", "user@host", "a.b/c-d",
    ])
    func accepted(_ text: String) throws {
        #expect(try GitRef(validating: text).value == text)
    }

    @Test("a full SHA is 40 lowercase hex digits")
    func fullSHA() throws {
        #expect(try GitRef(validating: String(repeating: "0a", count: 20)).commitID != nil)
        #expect(try GitRef(validating: String(repeating: "0A", count: 20)).commitID == nil)
        #expect(try GitRef(validating: "abcd").commitID == nil)
    }

    @Test("the reason names the problem")
    func reason() {
        #expect(throws: RefusedRef(ref: "-x", reason: "it starts with \"-\" and would be read as an option")) {
            try GitRef(validating: "-x")
        }
        #expect(RefusedRef(ref: "a;b", reason: "r").category == .usage)
        #expect(RefusedRef(ref: "a;b", reason: "r").description
            == "refusing ref \"a;b\": r. Give a branch, a tag or a commit SHA.")
    }

    @Test("arguments are single-quoted unless plainly safe", arguments: [
        ("plain", "plain"), ("/opt/app-1/x.yml", "/opt/app-1/x.yml"), ("", "''"), ("two words", "'two words'"),
        ("it's", "'it'\\''s'"), ("$(x)", "'$(x)'"), ("a\"b", "'a\"b'"), ("~/x", "'~/x'"), ("a\nb", "'a\nb'"),
    ])
    func quote(_ input: String, _ expected: String) {
        #expect(ShellQuote.quote(input) == expected)
    }

    /// What a shell reads back is the word itself, whatever it holds; the SSH layer wraps every command this way.
    @Test("a word always quoted reads back as itself in sh, an apostrophe before a combining mark included", arguments: [
        "plain", "", "it's", "'\u{301}$(echo PWNED)", "x'\u{301}; echo PWNED", "a\nb'\"c\\d`e`$f",
        ShellQuote.quote("\u{301}$(echo PWNED)"), ShellQuote.quote("it'\u{301}s $(echo PWNED)"),
    ])
    func quoteAlwaysReadsBack(_ word: String) throws {
        let output = try TestCommand.capture("/bin/sh", ["-c", "printf '%s' " + ShellQuote.quoteAlways(word)], timeout: .seconds(10))
        #expect(output.stdout == word, "\(ShellQuote.quoteAlways(word))")
    }

    @Test("paths under ~/ leave the home to the remote shell and quote the rest", arguments: [
        ("~/.openclaw-deploy/svc", "\"$HOME\"/.openclaw-deploy/svc"), ("~", "\"$HOME\""), ("~/", "\"$HOME\"/"),
        ("~/my apps/it's", "\"$HOME\"/'my apps/it'\\''s'"), ("/srv/my app", "'/srv/my app'"), ("~other/x", "'~other/x'"),
    ])
    func quotePath(_ input: String, _ expected: String) {
        #expect(ShellQuote.quotePath(input) == expected)
    }

    @Test("late values print as <label> and are filled in, quoted, before a command runs")
    func lateValues() throws {
        let command = RemoteCommand([.raw("git"), .arg("checkout"), .late(.targetCommit, label: "sha of origin/main")])
        #expect(command.rendered == "git checkout <sha of origin/main>")
        #expect(command.lateValues == [.targetCommit])
        #expect(try command.filled([.targetCommit: "a b"]).rendered == "git checkout 'a b'")
        #expect(throws: MissingLateValue.self) { try command.filled([.previousCommit: "x"]) }
        #expect(RemoteCommand(argv: ["git", "status"]).lateValues.isEmpty)
    }
}
