import Inventory

/// The remote commands a gateway host runs, as data (golden-tested): the rollout's drain and restore (planned once by
/// `Planner.gatewayPlan`, late values filled in when they run) and `gateway deploy`/`rollback`. The new file is
/// written beside `config_path` under a hidden name (nginx's `include dir/*` globs skip dot files), swapped in
/// with `mv` (atomic on one filesystem), checked with `nginx -t` and reloaded; on any failure the file that was
/// there is moved back before anything reloads it.
public struct GatewayCommands: Sendable, Equatable {
    public let configPath: String
    /// Where an upload lands before it is swapped in.
    public let incomingPath: String
    /// The file in force before the swap, kept until the new one is in force.
    public let backupPath: String
    /// The config in force before the last `gateway deploy`, for `gateway rollback`.
    public let previousPath: String
    /// The hosts drained by every rollout through this gateway, one `service host` per line: the shared truth
    /// each rollout renders from, so two rollouts never undo each other's drains.
    public let drainedPath: String
    /// The services in maintenance (`GatewayState.maintenanceText`), shared like the drained set.
    public let maintenancePath: String
    /// A directory held (atomic `mkdir`) while a rollout reads the drained set, renders and installs.
    public let drainLockPath: String

    /// Bytes of config per upload command: one shell argument may hold 128 KiB, quoting may grow it.
    public static let chunkBytes = 32 * 1024

    /// Bound on waiting, after a reload, for the old nginx workers to finish the requests they hold; once they
    /// are gone every new request goes by the new config.
    public static let settleSeconds = 5

    public init(configPath: String) {
        self.configPath = configPath
        let slash = configPath.lastIndex(of: "/")
        let directory = slash.map { String(configPath[...$0]) } ?? ""
        let name = slash.map { String(configPath[configPath.index(after: $0)...]) } ?? configPath
        incomingPath = directory + "." + name + ".new"
        backupPath = directory + "." + name + ".backup"
        previousPath = directory + "." + name + ".previous"
        drainedPath = directory + "." + name + ".drained"
        maintenancePath = directory + "." + name + ".maintenance"
        drainLockPath = directory + "." + name + ".drain-lock"
    }

    /// Exit status of `takeDrainLock` while another rollout holds the lock.
    public static let drainLockHeld: Int32 = 3
    /// How old a drain lock must be to have been left by a rollout that died holding it. A live change touches the
    /// lock before each of its steps (`touchDrainLock`), and a step runs at most `commandTimeout` (the install: its
    /// upload, test and reload, each bounded by it, then `settleSeconds`): past three of them and a minute, no live
    /// change can hold it. Never under two minutes.
    public static func drainLockStaleMinutes(commandTimeout: Duration, settleSeconds: Int) -> Int {
        let seconds = 3 * Double(commandTimeout.components.seconds) + Double(settleSeconds)
        return max(2, Int((seconds / 60).rounded(.up)) + 1)
    }

    /// Takes the drain lock for `token`: exit 0 when taken, 3 while another holds it. A lock untouched for
    /// `staleMinutes` is removed first.
    public func takeDrainLock(token: RemoteCommand.Token, staleMinutes: Int) -> RemoteCommand {
        let lock = RemoteCommand.Token.path(drainLockPath)
        let owner = RemoteCommand.Token.path(drainLockPath + "/owner")
        let take: [RemoteCommand.Token] = [.raw("mkdir"), lock, .raw("2>/dev/null && { printf '%s\\n'"), token, .raw(">"), owner,
                                           .raw("; exit 0; };")]
        return RemoteCommand(take + [.raw("[ -z \"$(find"), lock, .raw("-maxdepth 0 -mmin +\(max(1, staleMinutes)) 2>/dev/null)\" ] || rm -rf"), lock,
                                     .raw(";")] + take + [.raw("exit 3")])
    }

    /// Marks the drain lock as in use now, if `token` holds it; exit 0 either way.
    public func touchDrainLock(token: RemoteCommand.Token) -> RemoteCommand {
        RemoteCommand([.raw("! grep -qxF -e"), token, .path(drainLockPath + "/owner"), .raw("2>/dev/null || touch"),
                       .path(drainLockPath), .raw("; exit 0")])
    }

    /// Releases the drain lock if `token` holds it; exit 0 either way.
    public func releaseDrainLock(token: RemoteCommand.Token) -> RemoteCommand {
        RemoteCommand([.raw("! grep -qxF -e"), token, .path(drainLockPath + "/owner"), .raw("2>/dev/null || rm -rf"),
                       .path(drainLockPath), .raw("; exit 0")])
    }

    /// Prints the shared state (`GatewayState.parse` reads it): the drained set, then the marker line, then the
    /// services in maintenance. Missing files print nothing.
    public func readState() -> RemoteCommand {
        RemoteCommand([.raw("{ [ ! -f"), .path(drainedPath), .raw("] || cat"), .path(drainedPath), .raw("; echo; echo"),
                       .arg(GatewayState.maintenanceMarker), .raw("; [ ! -f"), .path(maintenancePath), .raw("] || cat"),
                       .path(maintenancePath), .raw("; }")])
    }

    /// Replaces the shared drained set atomically; `drained` is its text (`GatewayState.drainedText`).
    public func writeDrained(_ drained: RemoteCommand.Token) -> RemoteCommand { replace(drainedPath, with: drained) }

    /// Replaces the services in maintenance atomically; `maintenance` is their text (`GatewayState.maintenanceText`).
    public func writeMaintenance(_ maintenance: RemoteCommand.Token) -> RemoteCommand { replace(maintenancePath, with: maintenance) }

    private func replace(_ path: String, with text: RemoteCommand.Token) -> RemoteCommand {
        RemoteCommand([.raw("umask 022 && printf %s"), text, .raw(">"), .path(path + ".new"),
                       .raw("&& mv -f"), .path(path + ".new"), .path(path)])
    }

    /// Reads the access log `path` (`gateway.access_log`) from byte `offset` (`-N`: from N bytes before its end; past
    /// its end, as after a rotation: from its start), at most `maxBytes` of it. Prints `<size> <end>` (the log's size,
    /// and the offset the next read begins from), then the lines read that name `service`. A missing log reads as empty.
    /// On a read from before the end (`-N`, the first of a rollout), first a `resolved NAME ADDRESS` line for each
    /// address the gateway host resolves each of `names` to (hosts given by name: nginx logs the address it used).
    public static func readAccessLog(path: String, service: RemoteCommand.Token, offset: RemoteCommand.Token,
                                     maxBytes: Int, resolving names: [String] = []) -> RemoteCommand {
        RemoteCommand([.arg("sh"), .arg("-c"), .arg(accessLogScript), .arg("sh"), .path(path), offset, .arg(String(maxBytes)), service]
            + names.map(RemoteCommand.Token.arg))
    }

    /// `readAccessLog`'s script; exit 2 when its offset is not a number (a defect: the tool fills it in).
    public static let accessLogScript = """
        f=$1 o=$2 max=$3 service=$4
        case $o in ''|-|*[!0-9-]*|?*-*) echo "offset $o is not a number" >&2; exit 2;; esac
        shift 4
        case $o in -*) for n in "$@"; do getent ahosts "$n" 2>/dev/null | while read -r a _; do echo "resolved $n $a"; done; done;; esac
        s=$(stat -c %s -- "$f" 2>/dev/null) || s=0
        case $o in -*) o=$((s + o)); [ "$o" -ge 0 ] || o=0;; esac
        [ "$o" -le "$s" ] || o=0
        n=$((s - o)); [ "$n" -le "$max" ] || n=$max
        echo "$s $((o + n))"
        [ "$n" -gt 0 ] || exit 0
        tail -c +$((o + 1)) -- "$f" | head -c "$n" | grep -F -e "\\"service\\":\\"$service\\"" || true
        """

    /// Prints the config in force; exit 3 when there is none.
    public func readCurrent() -> RemoteCommand { read(configPath) }

    /// Prints the config kept for `gateway rollback`; exit 3 when there is none.
    public func readPrevious() -> RemoteCommand { read(previousPath) }

    private func read(_ path: String) -> RemoteCommand {
        RemoteCommand([.raw("if [ -f"), .path(path), .raw("]; then cat"), .path(path), .raw("; else exit 3; fi")])
    }

    /// Writes one piece of the config to the incoming file: the first piece replaces what is there, the others
    /// append. `chunk` is at most `chunkBytes` of it (one shell argument may hold 128 KiB, quoting may grow it).
    public func uploadChunk(_ chunk: RemoteCommand.Token, first: Bool) -> RemoteCommand {
        RemoteCommand([.raw("umask 022 &&"), .arg("printf"), .arg("%s"), chunk, .raw(first ? ">" : ">>"), .path(incomingPath)])
    }

    /// `config` in pieces of at most `chunkBytes`, never splitting a character; one (empty) piece for an empty config.
    public static func chunks(of config: String) -> [String] {
        var chunks: [String] = []
        var chunk = ""
        var chunkSize = 0
        for character in config {
            let size = character.utf8.count
            if chunkSize + size > chunkBytes {
                chunks.append(chunk)
                chunk = ""
                chunkSize = 0
            }
            chunk.append(character)
            chunkSize += size
        }
        if chunkSize > 0 || chunks.isEmpty { chunks.append(chunk) }
        return chunks
    }

    /// Writes `config` to the incoming file, in as many commands as its size needs.
    public func upload(_ config: String) -> [RemoteCommand] {
        Self.chunks(of: config).enumerated().map { uploadChunk(.arg($1), first: $0 == 0) }
    }

    /// Swaps the incoming file in, tests (`nginx -T`: the test, plus the config it read, where the `pid` file is
    /// named), reloads, and waits (bounded) for the master's old workers to finish their requests.
    /// `keepPrevious`: the replaced file becomes the rollback copy (`gateway deploy`/`rollback`, not a drain).
    public func install(expectedBytes: RemoteCommand.Token, keepPrevious: Bool, settleSeconds: Int) -> RemoteCommand {
        RemoteCommand([.arg("sh"), .arg("-c"), .arg(Self.installScript), .arg("sh"),
                       .path(configPath), .path(incomingPath), .path(backupPath), .path(previousPath),
                       expectedBytes, .arg(keepPrevious ? "1" : "0"), .arg(String(settleSeconds * 10))])
    }

    /// Exit statuses of `installScript`, each naming the step that failed.
    public enum InstallStatus: Int32, Sendable {
        case uploadIncomplete = 10, backupFailed = 11, swapFailed = 12, configRejected = 13, reloadFailed = 14
    }

    public static let installScript = """
        conf=$1 new=$2 backup=$3 previous=$4 size=$5 keep=$6 ticks=$7
        got=$(wc -c < "$new") || exit 10
        [ "$got" -eq "$size" ] || { echo "uploaded $got of $size bytes" >&2; rm -f "$new"; exit 10; }
        had=0
        if [ -f "$conf" ]; then cp -p "$conf" "$backup" || exit 11; had=1; fi
        put_back() { if [ "$had" = 1 ]; then mv -f "$backup" "$conf"; else rm -f "$conf"; fi; }
        mv -f "$new" "$conf" || { rm -f "$backup"; exit 12; }
        if ! out=$(nginx -T 2>&1); then put_back; printf '%s\\n' "$out" >&2; exit 13; fi
        pidfile=$(printf '%s\\n' "$out" | sed -n 's/^[[:space:]]*pid[[:space:]][[:space:]]*\\([^;]*\\);.*/\\1/p' | head -n 1)
        [ -n "$pidfile" ] || pidfile=$(nginx -V 2>&1 | sed -n 's/.*--pid-path=\\([^ ]*\\).*/\\1/p')
        master=$(cat "$pidfile" 2>/dev/null || true)
        old=""
        [ -n "$master" ] && old=$(pgrep -P "$master" || true)
        if ! out=$(nginx -s reload 2>&1); then put_back; printf '%s\\n' "$out" >&2; exit 14; fi
        if [ "$had" = 1 ]; then
          if [ "$keep" = 1 ]; then mv -f "$backup" "$previous"; else rm -f "$backup"; fi
        fi
        i=0
        while :; do
          alive=0
          for p in $old; do kill -0 "$p" 2>/dev/null && alive=1; done
          [ "$alive" = 0 ] && exit 0
          [ "$i" -ge "$ticks" ] && break
          sleep 0.1
          i=$((i + 1))
        done
        echo "reloaded; old nginx workers were still finishing requests after $((ticks / 10)) s"
        """
}
