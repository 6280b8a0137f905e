# syntax=docker/dockerfile:1
# The API image: docker build --build-arg VERSION="$(git describe --always --dirty)" -t ccbackend .
# (BuildKit, the default builder, is needed for the cache mounts.)
FROM golang:1.27.3 AS build
WORKDIR /src
# Build with the image's Go; never download another toolchain inside the build.
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ccbackend ./cmd/ccbackend

# Alpine rather than distroless: its busybox wget lets Docker and docker-compose.yml probe
# /health and /ready; the binary is static, so nothing else from the image is used.
FROM alpine:3.22
RUN apk add --no-cache ca-certificates tzdata \
 && adduser -D -H -u 10001 -s /sbin/nologin ccbackend
COPY --from=build /out/ccbackend /ccbackend
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["/ccbackend"]
CMD ["serve"]
