# Multi-stage build: a static-ish release binary on a slim Debian base.
FROM rust:1-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends perl make && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY tests/fixtures/media ./tests/fixtures/media
COPY migrations ./migrations
COPY api-spec ./api-spec
RUN cargo build --release --locked --bin dangke

FROM debian:bookworm-slim
# fonts-wqy-microhei: the Chinese font the digest chart is drawn with (DANGKE_CHART_FONT).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/dangke --create-home dangke
COPY --from=build /src/target/release/dangke /usr/local/bin/dangke
USER dangke
WORKDIR /var/lib/dangke
ENV DANGKE_BIND=0.0.0.0:8080 DANGKE_DATA_DIR=/var/lib/dangke/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["dangke"]
CMD ["serve"]
