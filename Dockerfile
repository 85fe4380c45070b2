# syntax=docker/dockerfile:1
#
# rbacguard: one static binary for the CLI, the Action (`rbacguard action`)
# and the GitHub App (`rbacguard serve`, this image's default command).
#
#   docker build -t rbacguard --build-arg VERSION=v1.2.3 .
#   docker run --rm -p 8080:8080 -e RBACGUARD_APP_ID=… -e RBACGUARD_WEBHOOK_SECRET=… \
#     -v "$PWD/app.pem:/secrets/app.pem:ro" rbacguard serve --private-key /secrets/app.pem
#
# Released images (ghcr.io/rbacguard/rbacguard, linux/amd64 and linux/arm64)
# are built from this file by .github/workflows/release.yml.

# Build on the builder's own platform and cross-compile for the target's
# (CGO_ENABLED=0): a multi-arch image needs no emulation. The Go release
# the module is tested with; GOTOOLCHAIN=local so that the go line in
# go.mod can never make the build download another toolchain.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
# Dependencies first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# VERSION: the release tag to stamp, or devel for a source build.
ARG VERSION=devel
ARG TARGETOS TARGETARCH
# scripts/build.sh is the one build of rbacguard: the same flags as the
# released binaries (static, -trimpath, stripped, the version stamped).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    scripts/build.sh -o /out "$VERSION" "$TARGETOS/$TARGETARCH" && \
    mv "/out/rbacguard-$TARGETOS-$TARGETARCH" /out/rbacguard

# Run: distroless static (CA certificates, /etc/passwd, no shell, no package
# manager) as the unprivileged user nonroot. rbacguard renders pull requests
# in memory and never runs their code, git or helm, so it needs nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=devel
ARG REVISION=
LABEL org.opencontainers.image.title="rbacguard" \
      org.opencontainers.image.description="Stops silent privilege escalation in Kubernetes pull requests: the rbacguard GitHub App (rbacguard serve) and CLI." \
      org.opencontainers.image.url="https://github.com/rbacguard/rbacguard" \
      org.opencontainers.image.source="https://github.com/rbacguard/rbacguard" \
      org.opencontainers.image.documentation="https://github.com/rbacguard/rbacguard#github-app" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/rbacguard /usr/local/bin/rbacguard
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/rbacguard"]
CMD ["serve"]
