import Inventory
import struct Inventory.Host
import Rollout
import SSH

/// The connections `deploy`, `rollback`, `status`, `history` and `lock` use: libssh2 sessions, one per host.
func rolloutTransportFactory(acceptNewHostKeys: Bool) -> any TransportFactory {
    SSHConnectionFactory(hostKeyPolicy: acceptNewHostKeys ? .acceptNew : .strict)
}

/// `SSHConnection`s as the rollout's `Transport`, with SSH failures in the rollout's terms.
private struct SSHConnectionFactory: TransportFactory {
    let hostKeyPolicy: HostKeyPolicy

    func connect(to host: Host) async throws -> any Transport {
        let configuration = SSHConfiguration(
            host: host.address, port: host.ssh.port, user: host.ssh.user,
            authentication: host.ssh.identity.map { SSHAuthentication.privateKey(path: $0) } ?? SSHAuthentication.agent,
            knownHostsPath: host.ssh.knownHosts, hostKeyPolicy: hostKeyPolicy, connectTimeout: host.ssh.connectTimeout)
        do {
            return SSHConnectionTransport(name: host.name, connection: try await SSHConnection.connect(configuration))
        } catch let error as SSHError {
            throw error.isConnectFailure ? TransportError.connectFailed(host: host.name, reason: error.description)
                : TransportError.lost(host: host.name, reason: error.description)
        }
    }
}

private struct SSHConnectionTransport: Transport {
    let name: String
    let connection: SSHConnection

    func run(_ command: String, timeout: Duration) async throws -> CommandResult {
        do {
            let result = try await connection.run(command, timeout: timeout)
            return CommandResult(exitStatus: result.exitStatus, signal: result.signal, stdout: result.stdout, stderr: result.stderr)
        } catch let error as SSHError {
            throw translate(error, command: command, timeout: timeout)
        }
    }

    func httpGet(host: String, port: Int, path: String, timeout: Duration) async throws -> HTTPResponse {
        do {
            let response = try await connection.httpGet(host: host, port: port, path: path, timeout: timeout)
            return HTTPResponse(status: response.status, headers: response.headers.map { ($0.name, $0.value) }, body: response.body)
        } catch let error as SSHError {
            throw translate(error, command: "GET http://\(host):\(port)\(path)", timeout: timeout)
        }
    }

    func close() async { await connection.close() }

    private func translate(_ error: SSHError, command: String, timeout: Duration) -> TransportError {
        switch error {
        case .commandTimedOut, .httpTimedOut: return .timedOut(host: name, command: command, after: timeout)
        case .targetRefused(_, let target): return .connectionRefused(host: name, target: target)
        default: return error.isConnectFailure ? .connectFailed(host: name, reason: error.description) : .lost(host: name, reason: error.description)
        }
    }
}
