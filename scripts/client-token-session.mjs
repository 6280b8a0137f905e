// The token session that scripts/client-wrappers.mjs appends to the TypeScript and Swift wrappers
// when the spec has a bearer scheme and a refresh operation (operationId `refreshTokens`).
//
// Why it exists: a refresh token is spent on first use, and presenting a spent one again outside
// the server's short grace window revokes the whole family. A web page or an app that fires
// several requests as its access token expires must therefore refresh once and let the others
// wait for that answer (single flight), not exchange the same token several times.

/** The `METHOD /path` of the refresh operation, or undefined when the spec has none. */
export function findRefreshOperation(doc) {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (item?.post?.operationId === "refreshTokens") return { path };
  }
  return undefined;
}

/** TypeScript for client.ts (after createCCBackendClient and authMiddleware). */
export function tsTokenSession({ path }) {
  return `
/** A token pair as the server issues it (register, login, refresh). */
export type AuthTokens = Schemas["AuthTokens"];

/** Options of {@link createTokenSession}; the rest configures the client it refreshes with. */
export interface TokenSessionOptions extends Omit<ClientOptions, "baseUrl"> {
  /** The server origin, as for {@link createCCBackendClient}. */
  baseUrl: string;
  /** The pair from register or login, when already signed in. */
  tokens?: AuthTokens;
  /** Refresh this many seconds before the access token expires (default 60). */
  refreshMarginSeconds?: number;
  /** Called with each new pair, and with undefined when the server ends the session. */
  onChange?: (tokens: AuthTokens | undefined) => void;
}

/** Why {@link TokenSession.refresh} failed: the server's status and body (a Problem). */
export class RefreshError extends Error {
  readonly status: number;
  readonly problem: unknown;

  constructor(status: number, problem: unknown) {
    super(\`token refresh failed with status \${status}\`);
    this.name = "RefreshError";
    this.status = status;
    this.problem = problem;
  }
}

/** A signed-in user's tokens, kept fresh. */
export interface TokenSession {
  /** Pass as \`auth\` to {@link createCCBackendClient}: the access token, refreshed first when due. */
  readonly auth: CredentialProvider;
  /** The current pair, or undefined when signed out. */
  readonly tokens: AuthTokens | undefined;
  /** Replaces the pair (after a login) or clears it (after a logout). */
  set(tokens: AuthTokens | undefined): void;
  /**
   * Exchanges the refresh token for a new pair (\`POST ${path}\`). Single flight: calls made while
   * an exchange is under way get its result, because a refresh token is spent on first use and a
   * second exchange of it outside the server's grace window revokes the whole session. A 401
   * (RefreshError) ends the session: the tokens are cleared.
   */
  refresh(): Promise<AuthTokens>;
}

/** Creates a {@link TokenSession}; it refreshes through its own client, without credentials. */
export function createTokenSession(options: TokenSessionOptions): TokenSession {
  const { tokens: initial, refreshMarginSeconds = 60, onChange, ...clientOptions } = options;
  const client = createClient<paths>(clientOptions);
  let current: AuthTokens | undefined;
  let expiresAt = 0;
  let inflight: Promise<AuthTokens> | undefined;
  const keep = (tokens: AuthTokens | undefined): void => {
    current = tokens;
    expiresAt = tokens === undefined ? 0 : Date.now() + tokens.expires_in * 1000;
  };
  const set = (tokens: AuthTokens | undefined): void => {
    keep(tokens);
    onChange?.(tokens);
  };
  keep(initial);

  const exchange = async (spent: AuthTokens): Promise<AuthTokens> => {
    const { data, error, response } = await client.POST(${JSON.stringify(path)}, {
      body: { refresh_token: spent.refresh_token },
    });
    // A pair set meanwhile (a new login, a logout) wins over this answer.
    if (data !== undefined) {
      if (current === spent) set(data);
      return data;
    }
    if (response.status === 401 && current === spent) set(undefined);
    throw new RefreshError(response.status, error);
  };

  const refresh = (): Promise<AuthTokens> => {
    if (inflight === undefined) {
      if (current === undefined) return Promise.reject(new RefreshError(401, undefined));
      inflight = exchange(current).finally(() => {
        inflight = undefined;
      });
    }
    return inflight;
  };

  return {
    get tokens() {
      return current;
    },
    set,
    refresh,
    async auth() {
      if (current !== undefined && Date.now() >= expiresAt - refreshMarginSeconds * 1000) {
        // When the refresh fails the current token is sent as it is: the server's answer (401
        // once it has expired) says more than a client-side error would.
        await refresh().catch(() => undefined);
      }
      return current === undefined ? undefined : { bearer: current.access_token };
    },
  };
}
`;
}

/** Swift for CCBackendClient.swift (after the middleware and the Client factory). */
export function swiftTokenSession({ path }) {
  return `
/// A signed-in user's token pair, as register, login and refresh return it.
public struct CCBackendTokens: Sendable, Hashable {
    public var accessToken: String
    public var refreshToken: String
    /// When the access token expires.
    public var expiresAt: Date

    /// - Parameter expiresIn: the response's \`expires_in\`, seconds from \`now\`.
    public init(accessToken: String, refreshToken: String, expiresIn: Int, now: Date = Date()) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = now.addingTimeInterval(TimeInterval(expiresIn))
    }
}

/// Holds the token pair and keeps it fresh; pass \`{ try await session.credential() }\` as the
/// \`credential\` of \`Client.ccbackend\`. Refreshes are single flight: callers that ask while one is
/// under way get its result, because a refresh token is spent on first use and a second exchange of
/// it outside the server's grace window revokes the whole session.
public actor CCBackendTokenSession {
    /// Exchanges a refresh token (\`POST ${path}\`, e.g. with \`client.refreshTokens\`):
    /// the new pair, or nil when the server refused the token (401: the session is over). Throws
    /// otherwise.
    public typealias Refresh = @Sendable (_ refreshToken: String) async throws -> CCBackendTokens?

    /// The current pair; nil when signed out.
    public private(set) var tokens: CCBackendTokens?
    private var inflight: Task<CCBackendTokens?, any Error>?
    private let exchange: Refresh
    private let margin: TimeInterval

    /// - Parameter refreshMargin: refresh this many seconds before the access token expires.
    public init(tokens: CCBackendTokens? = nil, refreshMargin: TimeInterval = 60, refresh: @escaping Refresh) {
        self.tokens = tokens
        self.margin = refreshMargin
        self.exchange = refresh
    }

    /// Replaces the pair (after a login) or clears it (after a logout).
    public func set(_ tokens: CCBackendTokens?) {
        self.tokens = tokens
    }

    /// Exchanges the refresh token for a new pair; nil when signed out or refused (then the
    /// session is cleared).
    @discardableResult
    public func refresh() async throws -> CCBackendTokens? {
        if let inflight {
            return try await inflight.value
        }
        guard let spent = tokens else { return nil }
        let exchange = self.exchange
        let task = Task { try await exchange(spent.refreshToken) }
        inflight = task
        defer { inflight = nil }
        let fresh = try await task.value
        // A pair set meanwhile (a new login, a logout) wins over this answer.
        if tokens == spent {
            tokens = fresh
        }
        return fresh
    }

    /// The credential for the next request: the access token, refreshed first when due. When the
    /// refresh fails the current token is sent as it is; the server's answer says what went wrong.
    public func credential() async throws -> CCBackendCredential? {
        if let current = tokens, current.expiresAt.timeIntervalSinceNow < margin {
            _ = try? await refresh()
        }
        return tokens.map { .bearer($0.accessToken) }
    }
}
`;
}
