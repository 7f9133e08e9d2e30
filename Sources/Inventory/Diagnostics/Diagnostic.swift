import ExitCategories
/// One problem found in an inventory file, printed the way compilers do so editors can jump to it.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when the problem concerns the whole file (missing, empty, unreadable).
    public var line: Int
    /// 1-based; 0 when the problem concerns the whole file.
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// A problem with the file as a whole, printed without a position.
    public static func fileLevel(_ file: String, _ message: String) -> Diagnostic {
        Diagnostic(file: file, line: 0, column: 0, message: message)
    }

    public var hasPosition: Bool { line > 0 }

    /// `FILE:LINE:COLUMN: message`, or `FILE: message` without a position.
    public var description: String {
        hasPosition ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}

/// Every problem found in an inventory, thrown at once so a user can fix them all in one go.
public struct InventoryError: Error, CategorizedError, Equatable {
    public var category: ExitCategory { .invalidInventory }

    public var diagnostics: [Diagnostic]

    public init(diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
    }

    /// One diagnostic per line.
    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
