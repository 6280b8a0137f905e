# The README's two commands are `make run` and `make test`; everything else serves them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
# The Go toolchain every target (and every script they run) uses; the go command fetches it from the
# module proxy once. Machines start on an older Go that ignores go.mod's toolchain line.
export GOTOOLCHAIN := go1.27.3
# scripts/services.sh prints `export DATABASE_URL=... REDIS_URL=...` for reachable (or freshly started) services.
SERVICES = svc="$$(scripts/services.sh)" && eval "$$svc"

.PHONY: run test tools deps generate generate-go generate-clients check-generated lint vulncheck test-go test-redis-cluster test-pgbouncer fuzz bench build

## run: start the API on CCB_ADDR (default :8080) against dev PostgreSQL and Redis
run: tools
	@$(SERVICES) && $(GO) run ./cmd/ccbackend serve

## test: lint, generated-code drift, the vulnerability gate, every Go test with the race detector,
## then the Redis-backed ones again on a Redis Cluster and the store's through PgBouncer
test: tools lint check-generated vulncheck test-go test-redis-cluster test-pgbouncer

tools:
	@scripts/ensure-tools.sh

deps: tools
	@scripts/npm-deps.sh

# test-go: the race-detected tests with one coverage profile merged across packages, printed by
# scripts/coverage.sh, which fails below its thresholds (total 90%, every package 80%; the tree
# measured 90.7% when the gate went on). CCB_COVERAGE_ENFORCE=0 only warns, for a local run of
# work in progress. The fuzz targets' seed corpora run as ordinary tests here; `make fuzz` fuzzes them.
COVERPROFILE ?= coverage.out
CCB_COVERAGE_ENFORCE ?= 1
FUZZTIME ?= 60s
test-go:
	@$(SERVICES) && $(GO) test -race -count=1 -timeout 30m -coverpkg=./internal/...,./cmd/... -coverprofile=$(COVERPROFILE) ./...
	@CCB_COVERAGE_ENFORCE=$(CCB_COVERAGE_ENFORCE) scripts/coverage.sh $(COVERPROFILE)

## test-redis-cluster: the Redis-backed tests again, on a private 3-master Redis Cluster
## (scripts/redis-cluster.sh): every key a script or MULTI touches must share a hash slot there
## (skipped there: tests that reach one node through a proxy, or a replica, which a cluster has not)
REDIS_CLUSTER_PKGS = ./internal/ratelimit/ ./internal/resume/ ./internal/events/ ./internal/auth/ ./internal/chat/ ./internal/store/
REDIS_CLUSTER_HTTP = TestRateLimit|TestLeasedLimits|TestRequestLimit|TestLogout|Revoke|TestIdempot|Cancel|TestChatStreamResume|TestChatConcurrentGenerationsCap|TestChatSlot|TestChatTokens|TestChatTokenRateLimit|TestDPoPBound|TestRealtime(AcrossInstances|LogoutClosesSocket|ResumeAndResync|TicketAudited)|^TestReady$$
test-redis-cluster: tools
	@$(SERVICES) && dir=$$(mktemp -d) && trap 'scripts/redis-cluster.sh stop "$$dir/cluster"' EXIT && \
		cluster="$$(scripts/redis-cluster.sh start "$$dir/cluster")" && eval "$$cluster" && echo "test-redis-cluster: $$CCB_REDIS_ADDRS" && \
		$(GO) test -race -count=1 -timeout 15m -skip 'TestReadReplicaRouting|TestCloseDoesNotWaitForRedis' $(REDIS_CLUSTER_PKGS) && \
		$(GO) test -race -count=1 -timeout 15m ./internal/httpapi/ -run '$(REDIS_CLUSTER_HTTP)'

## test-pgbouncer: the store's tests again, each test database behind its own PgBouncer in
## transaction pooling mode (testutil.StartPgBouncer; the replica test has private servers of its own)
test-pgbouncer:
	@$(SERVICES) && CCB_TEST_POOLER=pgbouncer $(GO) test -race -count=1 -timeout 10m -skip 'TestReadReplicaRouting' ./internal/store/

## fuzz: every fuzz target (go test -fuzz), one after the other, each for FUZZTIME
fuzz:
	@$(SERVICES) && scripts/fuzz.sh $(FUZZTIME)

build:
	$(GO) build -o bin/ccbackend ./cmd/ccbackend

## generate: regenerate everything under gen/
generate: deps generate-go generate-clients

generate-go:
	$(GO) tool oapi-codegen -config api/oapi-codegen.yaml api/openapi.yaml
	$(GO) tool sqlc generate -f db/sqlc.yaml

generate-clients:
	@scripts/gen-swaggerui.sh
	@scripts/gen-clients.sh

## check-generated: fail when gen/ differs from what the working tree's spec and SQL produce
## (generated in a scratch copy, so a spec change in progress passes once `make generate` ran)
check-generated: deps
	@scripts/check-generated.sh

## lint: the spec (Spectral, Redocly) and the Go code (gofmt, go vet, staticcheck)
lint: deps
	@scripts/lint.sh

## vulncheck: govulncheck offline against the pinned vulnerability database; fails on a reachable
## advisory that security/vuln-allowlist.yaml does not accept
vulncheck: tools
	@scripts/vulncheck.sh

bench:
	@$(SERVICES) && $(GO) test -run '^$$' -bench . -benchmem ./...
