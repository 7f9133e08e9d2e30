import Commands
import Foundation
import Inventory
import Plan
import Engine
import Testing

@Suite("Remote commands: exact text")
struct CommandsGoldenTests {
    typealias F = PlannerFixtures

    /// A host as the reference inventory describes one.
    let plain = HostCommands(service: "customer-service", host: F.host("lighthouse-a"))

    /// Everything awkward at once: `~/` with a quote and spaces, a state dir with double quotes, spaces
    /// and a trailing slash, another remote, a one-word compose command, no project, build and up_args.
    let odd = HostCommands(service: "customer-service", host: F.host(
        "odd", repoPath: "~/apps/it's my app",
        compose: ComposeSettings(command: ["podman-compose"], file: "deploy/compose file.yml", project: nil, build: true,
                                 upArgs: ["--force-recreate", "--scale", "web=2"]),
        stateDir: "/var/lib/open claw/\"svc\"/"))

    let owner = LockOwner(operator: "o'brien", machine: "laptop", pid: 42, started: "2026-11-25T13:13:21Z",
                          target: "main 0123", expires: "2026-11-25T13:15:21Z", token: "abc123")

    @Test("lock commands")
    func lock() {
        #expect(plain.lockAcquire(owner: owner).rendered == #"mkdir -p "$HOME"/.openclaw-deploy/customer-service && cd "$HOME"/.openclaw-deploy/customer-service || exit 1; { exec 9>>.lock-ops && { ! command -v flock >/dev/null 2>&1 || flock -w 30 9; }; } || { echo 'another lock operation on this host did not finish within 30s' >&2; exit 1; }; tmp=$(mktemp -d .lock-new.XXXXXX) || exit 1; printf '%s\n' '{"expires":"2026-11-25T13:15:21Z","machine":"laptop","operator":"o'\''brien","pid":42,"started":"2026-11-25T13:13:21Z","target":"main 0123","token":"abc123"}' >"$tmp/owner.json" || { rm -rf "$tmp"; exit 1; }; if mv -T "$tmp" lock 2>/dev/null; then exit 0; fi; rm -rf "$tmp"; if [ -d lock ]; then cat lock/owner.json 2>/dev/null; exit 3; fi; { echo 'could not create the lock directory in ~/.openclaw-deploy/customer-service' >&2; exit 1; }"#)
        #expect(odd.lockAcquire(owner: owner).rendered.hasPrefix(#"mkdir -p '/var/lib/open claw/"svc"' && cd '/var/lib/open claw/"svc"' || exit 1;"#))
        #expect(odd.lockRefresh(owner: owner).rendered == #"cd '/var/lib/open claw/"svc"' 2>/dev/null || exit 3; { exec 9>>.lock-ops && { ! command -v flock >/dev/null 2>&1 || flock -w 30 9; }; } || { echo 'another lock operation on this host did not finish within 30s' >&2; exit 1; }; set -- abc123 ; grep -q -F -e "\"token\":\"$1\"" lock/owner.json 2>/dev/null || { cat lock/owner.json 2>/dev/null; exit 3; }; printf '%s\n' '{"expires":"2026-11-25T13:15:21Z","machine":"laptop","operator":"o'\''brien","pid":42,"started":"2026-11-25T13:13:21Z","target":"main 0123","token":"abc123"}' > lock/.owner.json.new && mv -f lock/.owner.json.new lock/owner.json"#)
        #expect(plain.lockRelease(token: "abc123").rendered == #"cd "$HOME"/.openclaw-deploy/customer-service 2>/dev/null || exit 0; [ -e lock ] || exit 0; { exec 9>>.lock-ops && { ! command -v flock >/dev/null 2>&1 || flock -w 30 9; }; } || { echo 'another lock operation on this host did not finish within 30s' >&2; exit 1; }; set -- abc123 ; grep -q -F -e "\"token\":\"$1\"" lock/owner.json 2>/dev/null || { cat lock/owner.json 2>/dev/null; exit 3; }; mv -T lock .lock-gone.$$ && rm -rf .lock-gone.$$"#)
        #expect(odd.lockForceRelease().rendered == #"cd '/var/lib/open claw/"svc"' 2>/dev/null || exit 0; [ -e lock ] || exit 0; { exec 9>>.lock-ops && { ! command -v flock >/dev/null 2>&1 || flock -w 30 9; }; } || { echo 'another lock operation on this host did not finish within 30s' >&2; exit 1; }; cat lock/owner.json 2>/dev/null; mv -T lock .lock-gone.$$ && rm -rf .lock-gone.$$"#)
        #expect(plain.lockRead().rendered == #"cat "$HOME"/.openclaw-deploy/customer-service/lock/owner.json 2>/dev/null || true"#)
        #expect(odd.lockRead().rendered == #"cat '/var/lib/open claw/"svc"/lock/owner.json' 2>/dev/null || true"#)
    }

    @Test("preflight")
    func preflight() {
        #expect(plain.preflight().rendered == #"cd /opt/openclaw/customer 2>/dev/null || { echo 'the repository directory /opt/openclaw/customer does not exist on the host; `openclaw-deploy setup customer-service` clones it' >&2; exit 1; }; git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo '/opt/openclaw/customer is not a git checkout' >&2; exit 1; }; changes=$(git status --porcelain --untracked-files=normal) || { echo 'git status failed in /opt/openclaw/customer' >&2; exit 1; }; [ -z "$changes" ] || { printf '%s' '/opt/openclaw/customer has local changes (nothing was touched; commit or remove them): ' >&2; printf '%s\n' "$changes" | head -n 3 | tr '\n' ' ' >&2; echo >&2; exit 1; }; docker compose version >/dev/null 2>&1 || { echo 'the compose command "docker compose" does not work on the host' >&2; exit 1; } ; m=; while read -r k v _; do [ "$k" = MemTotal: ] && m=$v; done </proc/meminfo 2>/dev/null; printf 'cpus=%s memory_kib=%s\n' "$(nproc 2>/dev/null)" "$m""#)
        #expect(odd.preflight().rendered.hasPrefix(#"cd "$HOME"/'apps/it'\''s my app' 2>/dev/null || { echo 'the repository directory ~/apps/it'\''s my app does not exist on the host; `openclaw-deploy setup customer-service` clones it' >&2; exit 1; };"#))
        #expect(odd.preflight().rendered.contains(#"podman-compose version >/dev/null 2>&1 || { echo 'the compose command "podman-compose" does not work on the host' >&2; exit 1; } ;"#))
    }

    @Test("git commands")
    func git() throws {
        #expect(plain.currentRevision().rendered == "git -C /opt/openclaw/customer rev-parse --verify HEAD")
        #expect(odd.currentRevision().rendered == #"git -C "$HOME"/'apps/it'\''s my app' rev-parse --verify HEAD"#)
        #expect(plain.fetch().rendered == "GIT_TERMINAL_PROMPT=0 git -C /opt/openclaw/customer fetch --quiet --prune --tags -- origin")
        #expect(plain.resolve(try GitRef(validating: "main")).rendered == #"git -C /opt/openclaw/customer rev-parse --verify --quiet 'refs/remotes/origin/main^{commit}' || git -C /opt/openclaw/customer rev-parse --verify --quiet 'refs/tags/main^{commit}' || { echo 'main is neither a branch of origin, a tag nor a commit in /opt/openclaw/customer' >&2; exit 1; }"#)
        #expect(odd.resolve(try GitRef(validating: "abcdef1")).rendered == #"git -C "$HOME"/'apps/it'\''s my app' rev-parse --verify --quiet 'refs/remotes/origin/abcdef1^{commit}' || git -C "$HOME"/'apps/it'\''s my app' rev-parse --verify --quiet 'refs/tags/abcdef1^{commit}' || git -C "$HOME"/'apps/it'\''s my app' rev-parse --verify --quiet 'abcdef1^{commit}' || { echo 'abcdef1 is neither a branch of origin, a tag nor a commit in ~/apps/it'\''s my app' >&2; exit 1; }"#)
        let sha = "0123456789abcdef0123456789abcdef01234567"
        #expect(plain.checkout(CommitID(sha)!).rendered == "git -C /opt/openclaw/customer checkout --quiet --detach \(sha)")
    }

    @Test("compose commands")
    func compose() {
        #expect(plain.composeUp().rendered == #"cd /opt/openclaw/customer && { [ ! -f "$HOME"/.openclaw-deploy/customer-service/env ] || { set -a && . "$HOME"/.openclaw-deploy/customer-service/env && set +a; }; } && docker compose -f docker-compose.yml -p openclaw-customer up -d"#)
        #expect(odd.composeUp().rendered == #"cd "$HOME"/'apps/it'\''s my app' && { [ ! -f '/var/lib/open claw/"svc"/env' ] || { set -a && . '/var/lib/open claw/"svc"/env' && set +a; }; } && podman-compose -f 'deploy/compose file.yml' up -d --build --force-recreate --scale web=2"#)
        // Container state from the engine by the project's label, never from `compose ps`'s table.
        // Without a project, by the working directory every front end records: the compose file's directory.
        #expect(odd.containerStates().rendered.hasPrefix(
            #"ids=$( podman ps -aq --filter "label=com.docker.compose.project.working_dir=$(cd "$HOME"/'apps/it'\''s my app/deploy' 2>/dev/null && pwd)" ) && "#))
        #expect(plain.containerStates().rendered == "ids=$( docker ps -aq --filter label=com.docker.compose.project=openclaw-customer ) && "
            + "{ [ -z \"$ids\" ] || docker inspect --format '{{.Name}}|{{.State.Status}}|{{.State.ExitCode}}|{{.RestartCount}}|"
            + "{{if .State.Health}}{{.State.Health.Status}}{{end}}' $ids; }")
    }

    @Test("history commands")
    func history() {
        let record = HistoryRecord(id: "d-1", service: "customer-service", host: "lighthouse-a", action: "deploy", from: nil,
                                   to: "0123", result: "succeeded", startedAt: "2026-11-25T13:13:21Z",
                                   finishedAt: "2026-11-25T13:14:02Z", operator: "o'brien")
        #expect(plain.historyAppend(record).rendered == #"mkdir -p "$HOME"/.openclaw-deploy/customer-service && printf '%s\n' '{"action":"deploy","finished_at":"2026-11-25T13:14:02Z","from":null,"host":"lighthouse-a","id":"d-1","operator":"o'\''brien","reason":null,"ref":null,"result":"succeeded","service":"customer-service","started_at":"2026-11-25T13:13:21Z","to":"0123"}' >> "$HOME"/.openclaw-deploy/customer-service/history.jsonl"#)
        #expect(odd.historyRead(limit: 5).rendered == #"if [ -f '/var/lib/open claw/"svc"/history.jsonl' ]; then tail -n 5 '/var/lib/open claw/"svc"/history.jsonl' ; fi"#)
        #expect(plain.historyRead(limit: nil).rendered == #"if [ -f "$HOME"/.openclaw-deploy/customer-service/history.jsonl ]; then cat "$HOME"/.openclaw-deploy/customer-service/history.jsonl ; fi"#)
    }

    @Test("records written to hosts: one line of JSON, keys sorted, slashes as they are, control characters escaped")
    func recordLines() throws {
        let owner = LockOwner(operator: "ops", machine: "ci/runner-1", pid: 4242, started: "2026-11-25T13:13:21Z",
                              target: "deploy main", expires: "2026-11-25T13:15:21Z", token: "ab12")
        #expect(owner.jsonLine == #"{"expires":"2026-11-25T13:15:21Z","machine":"ci/runner-1","operator":"ops","pid":4242,"started":"2026-11-25T13:13:21Z","target":"deploy main","token":"ab12"}"#)
        let record = HistoryRecord(id: "d-2", service: "svc", host: "h1", action: "rollback", from: "a1", to: "b2", result: "rolled_back",
                                   startedAt: "s", finishedAt: nil, operator: "ops", ref: "release/1.2",
                                   reason: "failed at health_gate: \"HTTP 500\"\nnext\u{1}")
        #expect(record.jsonLine == #"{"action":"rollback","finished_at":null,"from":"a1","host":"h1","id":"d-2","operator":"ops","reason":"failed at health_gate: \"HTTP 500\"\nnext\u0001","ref":"release/1.2","result":"rolled_back","service":"svc","started_at":"s","to":"b2"}"#)
        // What is written reads back as it was.
        #expect(HistoryLog.parse(record.jsonLine + "\n") == [record])
        #expect(LockHolder.parse(owner.jsonLine) == LockHolder(owner))
    }

    @Test("exec quotes every word, the first one always: it is a command name, never an assignment or a keyword")
    func execWords() {
        let line = odd.exec(["FOO=1", "env", "it's", "$HOME"]).rendered
        #expect(line.hasPrefix(#"cd "$HOME"/'apps/it'\''s my app' && { [ ! -f '/var/lib/open claw/"svc"/env' ]"#), "\(line)")
        #expect(line.hasSuffix(#" && 'FOO=1' env 'it'\''s' '$HOME'"#), "\(line)")
        #expect(plain.exec(["if", "true"]).rendered.hasSuffix(" && 'if' true"))
    }

    @Test("logs: the tail, since as whole seconds, and a follow that stops its process group on end of input or a signal")
    func logsCommands() {
        #expect(plain.composeLogs(tail: 20, since: nil, follow: false).rendered.hasSuffix(
            "docker compose -f docker-compose.yml -p openclaw-customer logs --tail 20 --no-color 2>&1"))
        #expect(plain.composeLogs(tail: 5, since: .seconds(600), follow: false).rendered.contains("logs --tail 5 --no-color --since 600s 2>&1"))
        let follow = plain.composeLogs(tail: 0, since: nil, follow: true).rendered
        #expect(follow.contains("{ command -v setsid >/dev/null || { echo 'logs --follow needs setsid (util-linux) on the host' >&2; exit 127; }; "
            + "exec 3<&0; setsid docker compose -f docker-compose.yml -p openclaw-customer logs --tail 0 --no-color -f </dev/null 2>&1 & pid=$!; "
            + #"trap 'kill -TERM -"$pid" 2>/dev/null; exit 143' TERM HUP INT; { cat <&3 >/dev/null 2>&1; kill -TERM -"$pid" 2>/dev/null; } & "#
            + #"wait "$pid" 2>/dev/null; status=$?; kill $! 2>/dev/null; exit "$status"; }"#), "\(follow)")
    }
}
