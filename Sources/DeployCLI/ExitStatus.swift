import ArgumentParser
import ExitCategories
import Foundation
import Inventory

/// The SPEC's exit codes.
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// Deploy or rollback failed; every touched host is back on its previous revision and healthy.
    case failed = 1
    /// Some host is not known to be healthy on its previous revision (plan `--detailed-exitcode`: changes pending).
    case attention = 2
    case lockHeld = 3
    /// Could not connect, authenticate or verify a host key; nothing changed.
    case unreachable = 4
    case usage = 64
    case invalidInventory = 65

    /// The one mapping from a kind of failure to its code.
    static func of(_ category: ExitCategory) -> ExitStatus {
        switch category {
        case .usage: return .usage
        case .invalidInventory: return .invalidInventory
        case .failed: return .failed
        case .needsAttention: return .attention
        case .lockHeld: return .lockHeld
        case .unreachable: return .unreachable
        }
    }
}

/// An outcome a command has already shown in full (a table, a report): it only sets the exit code.
struct ReportedOutcome: CategorizedError {
    var category: ExitCategory
    var description: String { "" }
}

extension ExitStatus {
    /// The one place errors become exit codes and messages: each error is printed once, here, on
    /// stderr (a help request goes to stdout).
    static func report(_ error: Error) -> Int32 {
        switch error {
        case let error as InventoryError:
            // Already one `FILE:LINE:COLUMN: message` per line.
            printError(error.description)
            return of(error.category).rawValue
        case let error as any CategorizedError:
            let message = error.description
            if !message.isEmpty { printError("error: \(message)") }
            return of(error.category).rawValue
        default:
            // Argument-parser's own errors: usage (64), help and version (0), with its wording.
            let code = RootCommand.exitCode(for: error)
            let message = RootCommand.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
            } else if !message.isEmpty {
                // One error prefix for every message: the argument parser's own `Error:` too.
                printError(message.hasPrefix("Error: ") ? "error: " + message.dropFirst(7) : message)
            }
            return code.rawValue
        }
    }

    /// Messages carry text from hosts (a command's last line): control characters are shown escaped, line by line.
    /// On a terminal a long message is wrapped at spaces to its width, continuation lines indented.
    private static func printError(_ text: String) {
        let width = TextFit.width(wide: TextFit.wide.withLock { $0 }, descriptor: STDERR_FILENO)
        // Redacted before it is wrapped: a secret cut across two lines could no longer be found.
        let redactor = LineOutput.redaction.withLock { $0 }
        let visible = redactor.redact(text).split(separator: "\n", omittingEmptySubsequences: false).flatMap { line in
            TextFit.wrapped(VisibleText.escaped(String(line)), width: width, indent: "  ")
        }
        LineOutput.standardError.write(visible.joined(separator: "\n") + "\n")
    }
}
