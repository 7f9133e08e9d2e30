import ShellWords
import Inventory

/// Every remote command of one host's rollout, as data. Nothing here does I/O; the executor runs the
/// rendered commands and the planner prints them.
///
/// The lock is the directory `<state>/lock`. It is created by writing `owner.json` into a fresh
/// temporary directory beside it and renaming that directory to `lock` with `mv -T` (GNU coreutils):
/// rename(2) onto an existing, non-empty directory fails, so of two deploys racing exactly one wins,
/// and the holder's details are readable from the moment the lock exists. Every lock command runs under
/// `flock` on `<state>/.lock-ops` where the host has it (util-linux, busybox), so refresh and release compare the
/// holder's whole token and act on the lock in one step: a forced release and a new holder's acquire cannot come
/// between the check and the change.
public struct HostCommands: Sendable {
    public let service: String
    public let host: ServiceHost

    public init(service: String, host: ServiceHost) {
        self.service = service
        self.host = host
    }

    /// Exit status of the lock commands when another deploy holds the lock (its owner.json on stdout).
    public static let lockHeldStatus: Int32 = 3

    // MARK: lock

    /// Takes the lock. Exit 0: taken. Exit 3: held, the holder's owner.json on stdout.
    public func lockAcquire(owner: LockOwner) -> RemoteCommand { lockAcquire(ownerJSON: .arg(owner.jsonLine)) }

    /// Rewrites owner.json (new `expires`) atomically, only while `owner.token` still holds the lock.
    /// Exit 3 when it does not (the current holder's owner.json, if any, on stdout).
    public func lockRefresh(owner: LockOwner) -> RemoteCommand {
        precondition(!owner.token.isEmpty, "a lock token is never empty")
        return lockRefresh(token: .arg(owner.token), ownerJSON: .arg(owner.jsonLine))
    }

    package func lockRefresh(token: RemoteCommand.Token, ownerJSON: RemoteCommand.Token) -> RemoteCommand {
        RemoteCommand(inStateDir + [.raw("|| exit 3;")] + serialized + holds(token) + [
            .raw("||"), .raw("{"), .raw("cat lock/owner.json 2>/dev/null;"), .raw("exit 3;"), .raw("};"),
            .raw("printf '%s\\n'"), ownerJSON, .raw("> lock/.owner.json.new"),
            .raw("&&"), .raw("mv -f lock/.owner.json.new lock/owner.json"),
        ])
    }

    /// Takes the host's lock-operations lock for the rest of the command (none where `flock` is missing).
    private var serialized: [RemoteCommand.Token] {
        [.raw("{ exec 9>>.lock-ops && { ! command -v flock >/dev/null 2>&1 || flock -w 30 9; }; } ||"), .raw("{"),
         .raw("echo"), .arg("another lock operation on this host did not finish within 30s"), .raw(">&2; exit 1; };")]
    }

    /// True (exit 0) when the lock's owner.json holds exactly `token` as its token.
    private func holds(_ token: RemoteCommand.Token) -> [RemoteCommand.Token] {
        [.raw("set --"), token, .raw(";"), .raw("grep -q -F -e \"\\\"token\\\":\\\"$1\\\"\" lock/owner.json 2>/dev/null")]
    }

    /// Removes the lock if `token` holds it. Exit 0 also when there is no lock; exit 3 (holder's
    /// owner.json on stdout) when someone else holds it.
    public func lockRelease(token: String) -> RemoteCommand {
        precondition(!token.isEmpty, "a lock token is never empty")
        return lockRelease(tokenValue: .arg(token))
    }

    /// Removes the lock whoever holds it, printing the removed owner.json. Exit 0 when there is none.
    public func lockForceRelease() -> RemoteCommand {
        RemoteCommand(inStateDirOrDone + serialized + [
            .raw("cat lock/owner.json 2>/dev/null;"),
            .raw("mv -T lock .lock-gone.$$ && rm -rf .lock-gone.$$"),
        ])
    }

    /// Prints owner.json when the lock exists, nothing otherwise; exit 0 either way.
    public func lockRead() -> RemoteCommand {
        RemoteCommand([.raw("cat"), .path(state + "/lock/owner.json"), .raw("2>/dev/null"), .raw("||"), .raw("true")])
    }

    package func lockAcquire(ownerJSON: RemoteCommand.Token) -> RemoteCommand {
        RemoteCommand([.raw("mkdir"), .arg("-p"), .path(state), .raw("&&"), .raw("cd"), .path(state), .raw("|| exit 1;")]
                      + serialized + [
                       .raw("tmp=$(mktemp -d .lock-new.XXXXXX) || exit 1;"),
                       .raw("printf '%s\\n'"), ownerJSON, .raw(">\"$tmp/owner.json\" || { rm -rf \"$tmp\"; exit 1; };"),
                       .raw("if mv -T \"$tmp\" lock 2>/dev/null; then exit 0; fi;"),
                       .raw("rm -rf \"$tmp\";"),
                       .raw("if [ -d lock ]; then cat lock/owner.json 2>/dev/null; exit 3; fi;")]
            + fail("could not create the lock directory in \(state)", last: true))
    }

    package func lockRelease(tokenValue: RemoteCommand.Token) -> RemoteCommand {
        RemoteCommand(inStateDirOrDone + serialized + holds(tokenValue) + [
            .raw("||"), .raw("{"), .raw("cat lock/owner.json 2>/dev/null;"), .raw("exit 3;"), .raw("};"),
            .raw("mv -T lock .lock-gone.$$ && rm -rf .lock-gone.$$"),
        ])
    }

    // MARK: repository

    /// Refuses (non-zero exit, one-line reason on stderr) unless the repo exists, its working tree is
    /// clean and the compose command works. Untracked files count as local changes (a checkout or an
    /// image build could pick them up or collide with them); files git ignores do not.
    public func preflight() -> RemoteCommand {
        let repoPath = host.repo.path
        let compose = host.compose.command.joined(separator: " ")
        return RemoteCommand([.raw("cd"), .path(repoPath), .raw("2>/dev/null"), .raw("||")]
            + fail("the repository directory \(repoPath) does not exist on the host; `openclaw-deploy setup \(service)` clones it")
            + [.raw("git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||")]
            + fail("\(repoPath) is not a git checkout")
            + [.raw("changes=$(git status --porcelain --untracked-files=normal) ||")]
            + fail("git status failed in \(repoPath)")
            + [.raw("[ -z \"$changes\" ] || {"), .raw("printf '%s'"),
               .arg("\(repoPath) has local changes (nothing was touched; commit or remove them): "),
               .raw(">&2; printf '%s\\n' \"$changes\" | head -n 3 | tr '\\n' ' ' >&2; echo >&2; exit 1; };")]
            + host.compose.command.map(RemoteCommand.Token.arg) + [.raw("version >/dev/null 2>&1 ||")]
            + fail("the compose command \"\(compose)\" does not work on the host", last: true)
            + [.raw(";")] + resourcesLine)
    }

    /// Prints the host's CPU count and memory (`HostResources`); never fails.
    public func resources() -> RemoteCommand { RemoteCommand(resourcesLine) }

    private var resourcesLine: [RemoteCommand.Token] {
        // /proc/meminfo read by the shell itself (no awk): one process less on every host.
        [.raw("m=; while read -r k v _; do [ \"$k\" = MemTotal: ] && m=$v; done </proc/meminfo 2>/dev/null;"),
         .raw("printf 'cpus=%s memory_kib=%s\\n' \"$(nproc 2>/dev/null)\" \"$m\"")]
    }

    /// Prints the commit checked out now.
    public func currentRevision() -> RemoteCommand {
        RemoteCommand(git + [.arg("rev-parse"), .arg("--verify"), .arg("HEAD")])
    }

    /// Fetches the remote's branches and tags; never waits for a password prompt.
    public func fetch() -> RemoteCommand {
        RemoteCommand([.raw("GIT_TERMINAL_PROMPT=0")] + git
            + [.arg("fetch"), .arg("--quiet"), .arg("--prune"), .arg("--tags"), .arg("--"), .arg(host.repo.remote)])
    }

    /// Prints `commit` when the checkout has it as a commit (after a fetch); exit 1 with a reason on stderr
    /// otherwise. Used when the target is already a commit id (a rollback to a revision from history).
    package func verifyCommit(_ commit: RemoteCommand.Token) -> RemoteCommand {
        RemoteCommand(git + [.arg("cat-file"), .arg("commit"), commit, .raw(">/dev/null 2>&1 &&"), .raw("printf '%s\\n'"), commit, .raw("||")]
            + fail("the commit is not in \(host.repo.path), even after a fetch", last: true))
    }

    /// Prints the full commit id `ref` names after a fetch: the remote's branch, else a tag, else
    /// (for hex) a commit. Exit 1 with a reason on stderr when none exists.
    public func resolve(_ ref: GitRef) -> RemoteCommand {
        var candidates = ["refs/remotes/\(host.repo.remote)/\(ref.value)", "refs/tags/\(ref.value)"]
        if ref.isHexSHA { candidates.append(ref.value) }
        var tokens: [RemoteCommand.Token] = []
        for candidate in candidates {
            tokens += git + [.arg("rev-parse"), .arg("--verify"), .arg("--quiet"), .arg(candidate + "^{commit}"), .raw("||")]
        }
        return RemoteCommand(tokens + fail("\(ref.value) is neither a branch of \(host.repo.remote), a tag nor a commit in \(host.repo.path)", last: true))
    }

    /// Detaches HEAD at `commit`.
    public func checkout(_ commit: CommitID) -> RemoteCommand {
        checkout(commit: .arg(commit.value))
    }

    package func checkout(commit: RemoteCommand.Token) -> RemoteCommand {
        RemoteCommand(git + [.arg("checkout"), .arg("--quiet"), .arg("--detach"), commit])
    }

    // MARK: setup

    /// The container engine the compose command drives (`compose.engine`).
    public var engine: String { host.compose.engine.rawValue }

    /// What `setup` asks a host, one `key=value` line each, never failing: git's version, whether the compose command
    /// and the engine answer (if not, the engine's line that says why: docker prints "permission denied" on stdout,
    /// so both streams are read), what is at `repo.path` (an empty directory counts as missing: a clone fills it)
    /// and its remote's URL, whether `<state>` exists, and the login user.
    public func setupProbe() -> RemoteCommand {
        RemoteCommand([
            .raw("if command -v git >/dev/null 2>&1; then printf 'git=%s\\n' \"$(git --version 2>&1 | head -n 1)\"; fi;"),
            .raw("if")] + host.compose.command.map { RemoteCommand.Token.arg($0) } + [.arg("version"),
            .raw(">/dev/null 2>&1; then echo compose=ok; fi;"),
            .raw("if e=$("), .arg(engine), .arg("info"), .raw("2>&1); then echo engine=ok;"),
            .raw("else printf 'engine=%s\\n' \"$(printf '%s\\n' \"$e\" | grep -i -m 1 -e 'permission denied' -e 'cannot connect'"
                + " || printf '%s\\n' \"$e\" | grep -v '^$' | tail -n 1)\"; fi;"),
            .raw("if [ -d"), .path(host.repo.path), .raw("] && [ -z \"$(ls -A"), .path(host.repo.path), .raw("2>/dev/null)\" ];"),
            .raw("then echo checkout=missing;"),
            .raw("elif [ -d"), .path(host.repo.path + "/.git"), .raw("] || { command -v git >/dev/null 2>&1 && git -C"), .path(host.repo.path),
            .raw("rev-parse --is-inside-work-tree >/dev/null 2>&1; }; then echo checkout=git;"),
            .raw("printf 'remote=%s\\n' \"$(git -C"), .path(host.repo.path), .raw("remote get-url"), .arg(host.repo.remote),
            .raw("2>/dev/null)\";"),
            .raw("elif [ -e"), .path(host.repo.path), .raw("]; then echo checkout=other; else echo checkout=missing; fi;"),
            .raw("if [ -d"), .path(state), .raw("]; then echo state=ok; fi;"),
            .raw("printf 'user=%s\\n' \"$(id -un 2>/dev/null)\""),
        ])
    }

    /// Clones `url` into `repo.path` (its parent made first; an empty directory there is filled), the remote named
    /// `repo.remote`; never prompts.
    public func clone(_ url: String) -> RemoteCommand {
        RemoteCommand([.raw("mkdir"), .arg("-p"), .raw("\"$(dirname"), .path(host.repo.path), .raw(")\""), .raw("&&"),
                       .raw("GIT_TERMINAL_PROMPT=0 git clone --quiet --origin"), .arg(host.repo.remote), .arg("--"), .arg(url),
                       .path(host.repo.path)])
    }

    /// Creates `<state>` (mode 0700) when it is missing.
    public func createStateDir() -> RemoteCommand {
        RemoteCommand([.raw("mkdir"), .arg("-p"), .path(state), .raw("&& chmod 700"), .path(state)])
    }

    // MARK: environment

    /// Prints the SHA-256 of `<state>/env` (what the host runs with); nothing when there is none.
    public func envDigest() -> RemoteCommand {
        RemoteCommand([.raw("[ ! -f"), .path(envFile), .raw("] ||"), .raw("sha256sum <"), .path(envFile)])
    }

    /// Writes stdin to `<state>/env` atomically, mode 0600, keeping the file it replaces as `env.before` (a
    /// hard link, so the old content survives the rename) for `envRestore`.
    public func envWrite() -> RemoteCommand {
        RemoteCommand([.raw("mkdir"), .arg("-p"), .path(state), .raw("&&"), .raw("cd"), .path(state),
                       .raw("&& umask 077 && rm -f .env.new && cat > .env.new && chmod 600 .env.new"),
                       .raw("&& rm -f env.before && { [ ! -f env ] || ln env env.before; } && mv -f .env.new env")])
    }

    /// Puts back the environment `envWrite` replaced (none, if there was none).
    public func envRestore() -> RemoteCommand {
        RemoteCommand([.raw("cd"), .path(state),
                       .raw("&& if [ -f env.before ]; then mv -f env.before env; else rm -f env; fi")])
    }

    /// The operator's `before_up` command, in the checkout, with the service's environment exported.
    public func beforeUp(_ command: String) -> RemoteCommand {
        RemoteCommand([.raw("cd"), .path(host.repo.path), .raw("&&")] + withEnvironment + [.raw("sh"), .arg("-c"), .arg(command)])
    }

    // MARK: compose

    /// `compose up -d`, with `--build` when the inventory asks for it, then its `up_args`, with the service's
    /// environment exported (so `${VAR}` in the compose file and `environment: [VAR]` both see it).
    public func composeUp() -> RemoteCommand {
        var args: [String] = ["up", "-d"]
        if host.compose.build { args.append("--build") }
        return RemoteCommand(compose(args + host.compose.upArgs, withEnvironment: true))
    }

    /// The compose project's containers as the engine sees them, one line each:
    /// `name|state|exit code|restarts|health` (health empty when the image has no HEALTHCHECK). Read from the
    /// engine by the project's label, never from `compose ps`, whose table differs between front ends (and
    /// which is a Python start for podman-compose and docker-compose). Without `compose.project`, by the label
    /// every front end gives the directory of the compose file it ran (`composeDirectory`).
    public func containerStates() -> RemoteCommand {
        RemoteCommand([.raw("ids=$("), engineWord, .raw("ps -aq")] + projectFilter + [.raw(") &&"),
            .raw("{ [ -z \"$ids\" ] ||"), engineWord, .raw("inspect --format"), .arg(Self.containerStateFormat), .raw("$ids; }")])
    }

    private var engineWord: RemoteCommand.Token { .arg(engine) }

    /// `--filter` words that select the compose project's containers: by its name when the inventory gives one, else
    /// by the label every front end gives the directory of the compose file it ran (`composeDirectory`).
    private var projectFilter: [RemoteCommand.Token] {
        if let project = host.compose.project {
            return [.raw("--filter"), .arg("label=com.docker.compose.project=\(project)")]
        }
        return [.raw("--filter \"label=com.docker.compose.project.working_dir=$(cd"), .path(composeDirectory),
                .raw("2>/dev/null && pwd)\"")]
    }

    /// The directory of the compose file (`compose.file` is relative to the checkout unless absolute): where
    /// compose runs the project from, and what it records as the project's working directory.
    package var composeDirectory: String {
        let file = host.compose.file
        guard let slash = file.lastIndex(of: "/") else { return host.repo.path }
        let directory = String(file[..<slash])
        if file.hasPrefix("/") { return directory.isEmpty ? "/" : directory }
        return host.repo.path + "/" + directory
    }

    /// One line per container for `containerStates`, the same on docker and podman.
    package static let containerStateFormat =
        "{{.Name}}|{{.State.Status}}|{{.State.ExitCode}}|{{.RestartCount}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}"

    // MARK: day-to-day

    /// Lines of each container's log shown when a host fails after it changed.
    public static let failureLogLines = 20

    /// The compose project's logs, the last `tail` lines of each container (those of the last `since` only,
    /// when given), stderr merged into stdout so lines keep their order. With `follow` it streams until its
    /// stdin ends (the caller's Ctrl-C, or a lost connection): the follower runs in its own process group,
    /// which is stopped as a whole, so nothing keeps running on the host.
    public func composeLogs(tail: Int, since: Duration?, follow: Bool) -> RemoteCommand {
        var args = ["logs", "--tail", String(tail)]
        if host.compose.frontEnd.logsNoColor { args.append("--no-color") }
        if let since { args += ["--since", "\(max(1, since.components.seconds))s"] }
        let head: [RemoteCommand.Token] = [.raw("cd"), .path(host.repo.path), .raw("&&")] + withEnvironment
        guard follow else { return RemoteCommand(head + composeArgv(args) + [.raw("2>&1")]) }
        // A background job's stdin is /dev/null, so the watcher reads the channel's stdin through fd 3. When the
        // command's own deadline (`timeout`) signals this shell, the trap stops the follower's group too.
        return RemoteCommand(head + [
            .raw("{ command -v setsid >/dev/null || { echo 'logs --follow needs setsid (util-linux) on the host' >&2; exit 127; };"),
            .raw("exec 3<&0; setsid"),
        ] + composeArgv(args + ["-f"]) + [
            .raw("</dev/null 2>&1 & pid=$!;"),
            .raw("trap 'kill -TERM -\"$pid\" 2>/dev/null; exit 143' TERM HUP INT;"),
            .raw("{ cat <&3 >/dev/null 2>&1; kill -TERM -\"$pid\" 2>/dev/null; } &"),
            .raw("wait \"$pid\" 2>/dev/null; status=$?; kill $! 2>/dev/null; exit \"$status\"; }"),
        ])
    }

    /// `argv`, every word quoted, run in the checkout with the service's environment exported. The first word is
    /// quoted even when plainly safe, so it is always a command name: never an assignment (`FOO=1`) or a reserved
    /// word (`if`).
    public func exec(_ argv: [String]) -> RemoteCommand {
        guard let first = argv.first else { return RemoteCommand([.raw("cd"), .path(host.repo.path)]) }
        return RemoteCommand([.raw("cd"), .path(host.repo.path), .raw("&&")] + withEnvironment
            + [.raw(ShellQuote.quoteAlways(first))] + argv.dropFirst().map(RemoteCommand.Token.arg))
    }

    // MARK: history

    /// Appends one JSON line to `<state>/history.jsonl`, creating the state directory if needed.
    public func historyAppend(_ record: HistoryRecord) -> RemoteCommand { historyAppend(recordJSON: .arg(record.jsonLine)) }

    /// Prints the host's history lines, oldest first (only the last `limit` when given); exit 0 when none.
    public func historyRead(limit: Int?) -> RemoteCommand {
        let file = RemoteCommand.Token.path(state + "/history.jsonl")
        let reader: [RemoteCommand.Token] = limit.map { [.raw("tail"), .arg("-n"), .arg(String(max(0, $0)))] } ?? [.raw("cat")]
        return RemoteCommand([.raw("if [ -f"), file, .raw("]; then")] + reader + [file, .raw("; fi")])
    }

    package func historyAppend(recordJSON: RemoteCommand.Token) -> RemoteCommand {
        RemoteCommand([.raw("mkdir"), .arg("-p"), .path(state), .raw("&& printf '%s\\n'"), recordJSON,
                       .raw(">>"), .path(state + "/history.jsonl")])
    }

    /// A host's final record (`historyAppend`), then the images its project's containers run, written to
    /// `<state>/images/<revision checked out>` (one image ID per line): what `prune` reads to know which images
    /// belong to which revision. Recording the images is best effort; the exit status is the append's.
    package func historyFinish(recordJSON: RemoteCommand.Token) -> RemoteCommand {
        let images = RemoteCommand.Token.path(state + "/images")
        return RemoteCommand(historyAppend(recordJSON: recordJSON).tokens + [.raw("|| exit 1;"),
            .raw("{ rev=$("), .raw("git"), .arg("-C"), .path(host.repo.path), .raw("rev-parse --verify -q HEAD) && mkdir -p"), images,
            .raw("&& ids=$("), engineWord, .raw("ps -aq")] + projectFilter + [.raw(") && [ -n \"$ids\" ] &&"),
            engineWord, .raw("inspect --format '{{.Image}}' $ids | sort -u >"), .path(state + "/images/.new"),
            .raw("&& cd"), images, .raw("&& mv -f .new \"$rev\"; } >/dev/null 2>&1; exit 0")])
    }

    // MARK: prune

    /// `revision image` lines, one per image each revision's containers ran (`historyFinish`); nothing when none
    /// was recorded.
    public func recordedImages() -> RemoteCommand {
        RemoteCommand([.raw("cd"), .path(state + "/images"), .raw("2>/dev/null || exit 0; for f in *; do"),
                       .raw("[ -f \"$f\" ] || continue; while read -r id; do [ -z \"$id\" ] || printf '%s %s\\n' \"$f\" \"$id\"; done < \"$f\"; done")])
    }

    /// The image ID of every container the engine has (of any project, running or not): images never removed.
    public func imagesInUse() -> RemoteCommand {
        RemoteCommand([.raw("ids=$("), engineWord, .raw("ps -aq) && { [ -z \"$ids\" ] ||"), engineWord,
                       .raw("inspect --format '{{.Image}}' $ids; }")])
    }

    /// `image bytes` for each recorded image the engine still has (`image -` for one it no longer has).
    public func recordedImageSizes() -> RemoteCommand {
        RemoteCommand([.raw("cd"), .path(state + "/images"), .raw("2>/dev/null || exit 0; for id in $(cat * 2>/dev/null | sort -u); do size=$("), engineWord,
                       .raw("image inspect --format '{{.Size}}' \"$id\" 2>/dev/null) || size=-; printf '%s %s\\n' \"$id\" \"$size\"; done")])
    }

    /// Removes each image (never by force: the engine refuses one a container uses), printing `removed ID`, `gone ID`
    /// (it was no longer there) or `kept ID reason` per image; then drops from `<state>/images` every image the engine
    /// no longer has.
    public func removeImages(_ images: [ImageID]) -> RemoteCommand {
        var tokens: [RemoteCommand.Token] = []
        if !images.isEmpty {
            // An image already gone (removed meanwhile by whoever shares the engine) is reported as such, not refused.
            tokens += [.raw("for id in")] + images.map { .arg($0.value) } + [.raw("; do if out=$("), engineWord,
                .raw("rmi \"$id\" 2>&1); then printf 'removed %s\\n' \"$id\"; elif !"), engineWord,
                .raw("image inspect \"$id\" >/dev/null 2>&1; then printf 'gone %s\\n' \"$id\";"),
                .raw("else printf 'kept %s %s\\n' \"$id\" \"$(printf '%s' \"$out\" | tail -n 1)\"; fi; done;")]
        }
        tokens += [.raw("cd"), .path(state + "/images"), .raw("2>/dev/null || exit 0; for f in *; do [ -f \"$f\" ] || continue; : > .kept;"),
                   .raw("while read -r id; do [ -z \"$id\" ] ||"), engineWord,
                   .raw("image inspect \"$id\" >/dev/null 2>&1 && printf '%s\\n' \"$id\" >> .kept; done < \"$f\";"),
                   .raw("if [ -s .kept ]; then mv -f .kept \"$f\"; else rm -f \"$f\" .kept; fi; done; exit 0")]
        return RemoteCommand(tokens)
    }

    // MARK: parts

    /// The state directory without trailing slashes, so `state + "/lock"` is always one path.
    private var state: String {
        var dir = host.stateDir
        while dir.count > 1, dir.hasSuffix("/") { dir.removeLast() }
        return dir
    }

    private var git: [RemoteCommand.Token] { [.raw("git"), .arg("-C"), .path(host.repo.path)] }

    private var envFile: String { state + "/env" }

    /// Exports every variable of `<state>/env` when it exists, then `&&`.
    private var withEnvironment: [RemoteCommand.Token] {
        [.raw("{ [ ! -f"), .path(envFile), .raw("] || { set -a && ."), .path(envFile), .raw("&& set +a; }; } &&")]
    }

    private var inStateDir: [RemoteCommand.Token] { [.raw("cd"), .path(state), .raw("2>/dev/null")] }

    /// Enters the state directory, or ends with exit 0 when there is no lock to act on.
    private var inStateDirOrDone: [RemoteCommand.Token] {
        inStateDir + [.raw("|| exit 0;"), .raw("[ -e lock ] || exit 0;")]
    }

    private func compose(_ args: [String], withEnvironment exported: Bool = false) -> [RemoteCommand.Token] {
        var tokens: [RemoteCommand.Token] = [.raw("cd"), .path(host.repo.path), .raw("&&")]
        if exported { tokens += withEnvironment }
        return tokens + composeArgv(args)
    }

    /// The compose command with its file and project, then `args`.
    private func composeArgv(_ args: [String]) -> [RemoteCommand.Token] {
        var tokens = host.compose.command.map(RemoteCommand.Token.arg)
        tokens += [.arg("-f"), .path(host.compose.file)]
        if let project = host.compose.project { tokens += [.arg("-p"), .arg(project)] }
        return tokens + args.map(RemoteCommand.Token.arg)
    }

    /// `{ echo MESSAGE >&2; exit 1; }`, the end of a `||`.
    private func fail(_ message: String, last: Bool = false) -> [RemoteCommand.Token] {
        [.raw("{"), .raw("echo"), .arg(message), .raw(">&2;"), .raw("exit 1;"), .raw(last ? "}" : "};")]
    }
}
