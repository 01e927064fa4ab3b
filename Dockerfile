# calint in a container: a static binary (musl, Z3 built from source and linked in) on an
# empty base, running as a non-root user. Build: `docker build -t calint .`
# Use: `docker run --rm -v "$PWD:/work" calint check .`
FROM rust:1-alpine3.22 AS build
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
# The base image pins the Alpine release; its build tools are not pinned further (old package
# versions leave the Alpine mirrors, which would break the build).
# hadolint ignore=DL3018
RUN apk add --no-cache build-base cmake python3 linux-headers file
WORKDIR /src
COPY . .
ENV RUSTFLAGS="-C target-feature=+crt-static"
RUN cargo build --release --locked --features vendored \
    && file target/release/calint | grep -Eq "static(-pie)? linked" \
    && target/release/calint --version

FROM scratch
COPY --from=build /src/target/release/calint /calint
# No shell, no package manager: the binary only. Numeric user (there is no /etc/passwd).
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/calint"]
CMD ["check", "."]
