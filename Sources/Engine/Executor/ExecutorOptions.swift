import Foundation
import Plan

/// Who runs a rollout and how patiently. Defaults follow the SPEC; tests shorten the timings.
public struct ExecutorOptions: Sendable {
    /// Written into the lock and history: the local user and machine.
    public var operatorName: String
    public var machine: String
    public var pid: Int32
    /// Services rolled out at once by `deploy --all`.
    public var parallelServices: Int
    /// How far ahead a lock's `expires` is set (SPEC: at most 2 minutes), and how often it is pushed
    /// forward while the rollout works (SPEC: at least every 30 s).
    public var lockLifetime: Duration
    public var lockRefreshInterval: Duration
    /// Bound on lock, unlock, history and other bookkeeping commands.
    public var bookkeepingTimeout: Duration
    /// Connections one service's rollout opens at once (the transport bounds starts per endpoint and in total).
    public var maxConcurrentConnects: Int
    /// Hosts of one service put back at once after a failure.
    public var maxConcurrentPutBacks: Int
    /// `--lock-wait`: how long to wait for a lock another live rollout holds (zero: not at all).
    public var lockWait: Duration = .zero
    /// `--allow-below-capacity`: batches are not shrunk or stopped by `min_healthy` for this run.
    public var allowBelowCapacity = false
    /// Longest pause between two tries while waiting for a lock (SPEC: at most 10 s); the pauses grow to it.
    public var lockWaitLongestPause: Duration = .seconds(10)

    public init(operatorName: String = ExecutorOptions.currentUser(), machine: String = ProcessInfo.processInfo.hostName,
                pid: Int32 = ProcessInfo.processInfo.processIdentifier, parallelServices: Int = 4,
                lockLifetime: Duration = .seconds(120), lockRefreshInterval: Duration = ExecutorOptions.defaultLockRefreshInterval,
                bookkeepingTimeout: Duration = .seconds(30),
                maxConcurrentConnects: Int = 8, maxConcurrentPutBacks: Int = 8) {
        self.operatorName = operatorName
        self.machine = machine
        self.pid = pid
        self.parallelServices = parallelServices
        self.lockLifetime = lockLifetime
        self.lockRefreshInterval = lockRefreshInterval
        self.bookkeepingTimeout = bookkeepingTimeout
        self.maxConcurrentConnects = maxConcurrentConnects
        self.maxConcurrentPutBacks = maxConcurrentPutBacks
    }

    /// How often a held lock's expiry is pushed forward (SPEC: at least every 30 s).
    public static let defaultLockRefreshInterval: Duration = .seconds(20)

    public static func currentUser() -> String {
        let env = ProcessInfo.processInfo.environment
        return env["USER"] ?? env["LOGNAME"] ?? NSUserName()
    }
}
