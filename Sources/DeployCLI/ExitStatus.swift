import ArgumentParser
import Foundation
import Gateway
import Inventory
import Rollout

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
}

/// An error that knows its exit status. Errors of other targets get one by conforming in an
/// extension next to the command that throws them.
public protocol ExitStatusError: Error, CustomStringConvertible {
    var exitStatus: ExitStatus { get }
}

extension ExitStatus {
    /// The one place errors become exit codes and messages: each error is printed once, here, on
    /// stderr (a help request goes to stdout). `ExitCode` passes through silently, for commands that
    /// already reported their outcome.
    static func report(_ error: Error) -> Int32 {
        switch error {
        case let error as InventoryError:
            printError(error.diagnostics.map(\.description).joined(separator: "\n"))
            return invalidInventory.rawValue
        case let error as RolloutError:
            printError("error: \(error.description)")
            return of(error.category).rawValue
        case let error as TransportError:
            printError("error: \(error.description)")
            if case .connectFailed = error { return unreachable.rawValue }
            return failed.rawValue
        case let error as GatewayError:
            printError("error: \(error.description)")
            return (error.isInventoryProblem ? invalidInventory : failed).rawValue
        case let error as any ExitStatusError:
            printError("error: \(error.description)")
            return error.exitStatus.rawValue
        case let code as ExitCode:
            return code.rawValue
        default:
            // Argument-parser's own errors: usage (64), help and version (0), with its wording.
            let code = RootCommand.exitCode(for: error)
            let message = RootCommand.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
            } else if !message.isEmpty {
                printError(message)
            }
            return code.rawValue
        }
    }

    static func of(_ category: RolloutError.Category) -> ExitStatus {
        switch category {
        case .usage: return .usage
        case .failed: return .failed
        case .needsAttention: return .attention
        case .lockHeld: return .lockHeld
        case .unreachable: return .unreachable
        }
    }

    private static func printError(_ text: String) {
        LineOutput.standardError.write(text + "\n")
    }
}
