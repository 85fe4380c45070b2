# syntax=docker/dockerfile:1
#
# rbacguard: one static binary for the CLI, the Action (`rbacguard action`)
# and the GitHub App (`rbacguard serve`, this image's default command).
#
#   docker build -t rbacguard --build-arg VERSION=v1.2.3 .
#   docker run --rm -p 8080:8080 -e RBACGUARD_APP_ID=… -e RBACGUARD_WEBHOOK_SECRET=… \
#     -v "$PWD/app.pem:/secrets/app.pem:ro" rbacguard serve --private-key /secrets/app.pem

# Build: the Go release the module is tested with; GOTOOLCHAIN=local so that
# the go line in go.mod can never make the build download another toolchain.
FROM golang:1.26 AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath
WORKDIR /src
# Dependencies first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w -X main.version=${VERSION}" -o /out/rbacguard ./cmd/rbacguard

# Run: distroless static (CA certificates, /etc/passwd, no shell, no package
# manager) as the unprivileged user nonroot. rbacguard renders pull requests
# in memory and never runs their code, git or helm, so it needs nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rbacguard /usr/local/bin/rbacguard
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/rbacguard"]
CMD ["serve"]
