// The TypeScript client's journey against a live server: one user's way through the API with the
// generated client (gen/clients/ts), written once and run twice by internal/journey's Go test:
// under `node --test` (node.test.mjs) and in headless Chromium on a page of another origin
// (browser.test.mjs, page.html), where only the CORS-exposed headers are readable.
//
// It asserts what the journey needs and no more, so that new fields and operations in the spec
// do not break it.
import {
  createCCBackendClient,
  createTokenSession,
  RefreshError,
  type AuthTokens,
  type CCBackendClient,
} from "../../gen/clients/ts/client.js";

/** How the runner reports steps: a node subtest, or a record on the page. */
export type StepRunner = (name: string, fn: () => Promise<void>) => Promise<void>;

export interface JourneyOptions {
  /** The API's origin (the Go test's validating proxy). */
  baseUrl: string;
  /** Runs one step; it must reject when the step failed, which ends the journey. */
  step: StepRunner;
}

/** The local, offline model of the development catalog (internal/catalog). */
const localModel = "local-echo";
const localPrefix = "[local model] ";

function fail(message: string, detail?: unknown): never {
  throw new Error(detail === undefined ? message : `${message}: ${JSON.stringify(detail)}`);
}

function equal<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) fail(`${what} = ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
}

/** Checks the status and returns the body, failing with the body when the status differs. */
function expectStatus<D>(r: { data?: D; error?: unknown; response: Response }, status: number, what: string): D {
  if (r.response.status !== status) fail(`${what}: status ${r.response.status}, want ${status}`, r.error ?? r.data);
  if (r.data === undefined) fail(`${what}: no body`);
  return r.data;
}

/** A header the page must be able to read (CORS-exposed). */
function header(response: Response, name: string): string {
  const value = response.headers.get(name);
  if (value === null || value === "") fail(`${response.url}: header ${name} is not readable`);
  return value;
}

/** A 401 answered as a Problem whose request_id is the response's X-Request-ID. */
async function expectUnauthorized(response: Response, error: unknown, what: string): Promise<void> {
  equal(response.status, 401, `${what}: status`);
  if (!(response.headers.get("Content-Type") ?? "").startsWith("application/problem+json")) {
    fail(`${what}: content type ${response.headers.get("Content-Type")}`);
  }
  const problem = error as { status?: unknown; code?: unknown; request_id?: unknown };
  equal(problem.status, 401, `${what}: problem status`);
  if (typeof problem.code !== "string" || problem.code === "") fail(`${what}: problem without a code`, error);
  equal(problem.request_id, header(response, "X-Request-ID"), `${what}: problem request_id`);
}

/** Every response of the journey's clients must carry a readable X-Request-ID. */
function requireRequestID(client: CCBackendClient): CCBackendClient {
  client.use({
    onResponse({ response }) {
      header(response, "X-Request-ID");
      return undefined;
    },
  });
  return client;
}

/** Reads an SSE body chunk by chunk; returns the `data:` payloads up to and including [DONE]. */
async function readEvents(body: ReadableStream<Uint8Array>): Promise<string[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: string[] = [];
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      for (const line of event.split("\n")) {
        if (line.startsWith("data: ")) events.push(line.slice("data: ".length));
      }
      if (events[events.length - 1] === "[DONE]") {
        await reader.cancel();
        return events;
      }
    }
  }
  return fail("the stream ended without data: [DONE]", events);
}

/** Runs the journey; resolves when every step passed. */
export async function runJourney({ baseUrl, step }: JourneyOptions): Promise<void> {
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const email = `journey-${suffix}@example.com`;
  const password = `journey password ${suffix}`;
  let refreshRequests = 0;
  const session = createTokenSession({
    baseUrl,
    fetch: (request) => {
      if (new URL(request.url).pathname === "/v1/auth/refresh") refreshRequests++;
      return globalThis.fetch(request);
    },
  });
  const anonymous = requireRequestID(createCCBackendClient({ baseUrl }));
  const api = requireRequestID(createCCBackendClient({ baseUrl, auth: session.auth }));
  let userID = "";
  let projectID = "";
  let sessionID = "";
  const messageIDs: string[] = [];

  await step("register", async () => {
    const r = await anonymous.POST("/v1/auth/register", { body: { email, password } });
    const tokens = expectStatus(r, 201, "register");
    equal(tokens.user.email, email, "registered email");
    equal(tokens.token_type, "Bearer", "token_type");
    if (!tokens.access_token || !tokens.refresh_token || !(tokens.expires_in > 0)) fail("register: not a token pair", tokens);
    header(r.response, "RateLimit-Policy");
    header(r.response, "RateLimit");
    userID = tokens.user.id;
  });

  await step("login", async () => {
    const r = await anonymous.POST("/v1/auth/login", { body: { email, password } });
    const result = expectStatus(r, 200, "login");
    // An account without MFA gets its token pair at once (with MFA: an mfa_token to complete).
    if ("mfa_required" in result) throw new Error("login: unexpected MFA challenge");
    const tokens = result;
    equal(tokens.user.id, userID, "signed-in user");
    session.set(tokens);
  });

  await step("profile (and 401 without a token)", async () => {
    const r = await api.GET("/v1/auth/profile");
    const user = expectStatus(r, 200, "profile");
    equal(user.id, userID, "profile id");
    equal(user.email, email, "profile email");
    const denied = await anonymous.GET("/v1/auth/profile");
    await expectUnauthorized(denied.response, denied.error, "profile without a token");
  });

  await step("create project", async () => {
    const r = await api.POST("/v1/projects", { body: { name: `Journey ${suffix}` } });
    const project = expectStatus(r, 201, "create project");
    equal(project.name, `Journey ${suffix}`, "project name");
    header(r.response, "ETag");
    projectID = project.id;
  });

  await step("create session", async () => {
    const r = await api.POST("/v1/sessions", { body: { project_id: projectID, title: "Journey", model: localModel } });
    const created = expectStatus(r, 201, "create session");
    equal(created.project_id, projectID, "session project");
    header(r.response, "ETag");
    sessionID = created.id;
  });

  await step("post messages (one replayed by Idempotency-Key)", async () => {
    const path = "/v1/sessions/{id}/messages" as const;
    const params = { path: { id: sessionID }, header: { "Idempotency-Key": `journey-${suffix}` } };
    for (const [i, text] of ["first", "second", "third"].entries()) {
      const r = await api.POST(path, {
        params: i === 0 ? params : { path: { id: sessionID } },
        body: { role: "user", content: text },
      });
      const message = expectStatus(r, 201, `message ${i + 1}`);
      equal(message.seq, i + 1, `message ${i + 1} seq`);
      equal(message.content, text, `message ${i + 1} content`);
      messageIDs.push(message.id);
    }
    const replay = await api.POST(path, { params, body: { role: "user", content: "first" } });
    equal(expectStatus(replay, 201, "replayed message").id, messageIDs[0], "replayed message id");
    equal(header(replay.response, "Idempotent-Replayed"), "true", "Idempotent-Replayed");
  });

  await step("list messages, two pages by cursor", async () => {
    const path = { id: sessionID };
    const first = expectStatus(await api.GET("/v1/sessions/{id}/messages", { params: { path, query: { limit: 2 } } }), 200, "page 1");
    equal(first.data.map((m) => m.id).join(), messageIDs.slice(0, 2).join(), "page 1 ids");
    equal(first.has_more, true, "page 1 has_more");
    if (typeof first.next_cursor !== "string" || first.next_cursor === "") fail("page 1 without next_cursor", first);
    const second = expectStatus(
      await api.GET("/v1/sessions/{id}/messages", { params: { path, query: { limit: 2, cursor: first.next_cursor } } }),
      200,
      "page 2",
    );
    equal(second.data.map((m) => m.id).join(), messageIDs.slice(2).join(), "page 2 ids");
    equal(second.has_more, false, "page 2 has_more");
  });

  await step("chat completion, streamed", async () => {
    const r = await api.POST("/v1/chat/completions", {
      body: { model: localModel, stream: true, messages: [{ role: "user", content: "hello journey" }] },
      parseAs: "stream",
    });
    equal(r.response.status, 200, "chat status");
    if (!(r.response.headers.get("Content-Type") ?? "").startsWith("text/event-stream")) {
      fail(`chat content type ${r.response.headers.get("Content-Type")}`);
    }
    // parseAs "stream" leaves the body unread: the SSE events are read as they arrive.
    if (!r.response.body) fail("chat: no stream body");
    const events = await readEvents(r.response.body);
    let text = "";
    let finish: unknown = null;
    for (const data of events.slice(0, -1)) {
      const chunk = JSON.parse(data) as { object?: string; choices?: { delta?: { content?: string }; finish_reason?: unknown }[] };
      equal(chunk.object, "chat.completion.chunk", "chunk object");
      for (const choice of chunk.choices ?? []) {
        text += choice.delta?.content ?? "";
        finish = choice.finish_reason ?? finish;
      }
    }
    equal(text, `${localPrefix}You said: hello journey`, "streamed text");
    equal(finish, "stop", "finish_reason");
  });

  await step("sync from zero", async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let pages = 0; ; pages++) {
      if (pages === 20) fail("sync: more than 20 pages");
      const page = expectStatus(await api.GET("/v1/sync", { params: { query: cursor === undefined ? {} : { cursor } } }), 200, "sync");
      for (const change of page.data) seen.add(`${change.entity} ${change.op} ${change.id}`);
      if (typeof page.next_cursor !== "string" || page.next_cursor === "") fail("sync without next_cursor", page);
      cursor = page.next_cursor;
      if (!page.has_more) break;
    }
    for (const want of [`project upsert ${projectID}`, `session upsert ${sessionID}`, ...messageIDs.map((id) => `message upsert ${id}`)]) {
      if (!seen.has(want)) fail(`sync lacks ${want}`, [...seen]);
    }
    const after = expectStatus(await api.GET("/v1/sync", { params: { query: { cursor } } }), 200, "sync after the cursor");
    equal(after.data.length, 0, "changes after the last cursor");
  });

  let refreshed: AuthTokens | undefined;
  await step("refresh: two concurrent calls, one request", async () => {
    const before = session.tokens;
    if (!before) fail("no tokens before refresh");
    const [a, b] = await Promise.all([session.refresh(), session.refresh()]);
    equal(refreshRequests, 1, "refresh requests sent");
    equal(a, b, "the two refreshes' pair");
    equal(session.tokens, a, "the session's pair");
    if (a.refresh_token === before.refresh_token || a.access_token === before.access_token) fail("refresh returned the old pair");
    equal(expectStatus(await api.GET("/v1/auth/profile"), 200, "profile after refresh").id, userID, "profile id");
    refreshed = a;
  });

  await step("logout, then the old access token is refused", async () => {
    const r = await api.POST("/v1/auth/logout");
    equal(r.response.status, 204, "logout status");
    const old = requireRequestID(createCCBackendClient({ baseUrl, auth: () => ({ bearer: refreshed!.access_token }) }));
    const after = await old.GET("/v1/auth/profile");
    await expectUnauthorized(after.response, after.error, "profile after logout");
    const err = await session.refresh().then(
      () => fail("refresh after logout succeeded"),
      (e: unknown) => e,
    );
    if (!(err instanceof RefreshError)) throw err;
    equal(err.status, 401, "refresh after logout");
    equal(session.tokens, undefined, "tokens after a refused refresh");
  });
}
